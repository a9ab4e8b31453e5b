"""What the policy tests share: one policy run on hand-built resources, the resources as kindling
registers them, and a stack made of them.

Properties go through ``tests.policy_args.engine_props``, so policies see them
as the analyzer hands them over (numbers as doubles, unknowns as sentinels,
wrapped in pulumi-policy's unknown-checking proxy).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from kindling import contract
from policies import shapes
from policies.kindling_policies import POLICIES
from tests.policy_args import resource_args, run, stack_args
from tests.support import ROOT

CONTAINER, REMOTE_IMAGE, NETWORK = shapes.CONTAINER, shapes.REMOTE_IMAGE, shapes.NETWORK
COMMAND, RELEASE, K8S_PROVIDER = shapes.COMMAND, shapes.HELM_RELEASE, shapes.KUBERNETES_PROVIDER

BY_NAME = {policy.name: policy for policy in POLICIES}
# Where the program registers the Commands these policies look at: steps of the control plane.
AT_INIT = {"name": "kubeadm-init", "parent": contract.CONTROL_PLANE_TYPE}
AT_KUBECONFIG = {"name": "kubeadm-admin-kubeconfig", "parent": contract.CONTROL_PLANE_TYPE}
AT_JOIN = {"name": "worker-1-join", "parent": contract.JOIN_TYPE}
AT_SYSTEMD = {"name": "control-plane-systemd", "parent": contract.NODE_CONTAINER_TYPE}
AT_LOAD = {"name": "images-docker.io/library/app:dev", "parent": contract.LOADED_IMAGES_TYPE}
SUBJECTS = {
    "kube-proxy-conntrack-unmanaged": AT_INIT,
    "kubeadm-api-matches-release": AT_INIT,
    "admin-kubeconfig-secret": AT_KUBECONFIG,
    "admin-kubeconfig-not-logged": AT_KUBECONFIG,
    "loaded-images-pinned": AT_LOAD,
}


def check(policy: str, type_: str, props: dict[str, Any], **kwargs) -> list[str]:
    placed = SUBJECTS.get(policy, {}) if type_ == COMMAND else {}
    return run(BY_NAME[policy], resource_args(type_, props, **{**placed, **kwargs}))


def check_stack(name: str, resources: list[tuple[str, str, dict[str, Any]]], config=None) -> list[str]:
    return run(BY_NAME[name], stack_args(resources, config))


def changed(props: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``props`` with the value at a dotted path (list indexes as numbers) set, or removed (DELETE)."""
    clone = copy.deepcopy(props)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = clone
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return clone


DELETE = object()


def labelled(props: dict[str, Any], **labels: str) -> dict[str, Any]:
    clone = copy.deepcopy(props)
    current = {item["label"]: item["value"] for item in clone["labels"]}
    current.update({key.replace("_", "-").replace("kindling-", "kindling."): v for key, v in labels.items()})
    clone["labels"] = [{"label": k, "value": v} for k, v in current.items() if v is not None]
    return clone


# --- resources as kindling registers them ----------------------------------------------------------

NODE = {
    "name": "c-control-plane",
    "hostname": "c-control-plane",
    "image": "sha256:" + "a" * 64,
    "privileged": True,
    "securityOpts": ["seccomp=unconfined", "apparmor=unconfined"],
    "mounts": [{"type": "bind", "source": "/lib/modules", "target": "/lib/modules", "readOnly": True}],
    "volumes": [{"containerPath": "/var"}],
    "labels": [
        {"label": "kindling.cluster", "value": "c"},
        {"label": "kindling.role", "value": "control-plane"},
        {"label": "kindling.config-sha256", "value": "0" * 64},
        {"label": "kindling.host-lib-modules", "value": "mounted"},
    ],
    "networksAdvanced": [{"name": "c", "ipv4Address": "10.19.1.2"}],
    "ports": [{"internal": 6443, "ip": "127.0.0.1", "protocol": "tcp"}],
    "restart": "on-failure",
}
WORKER = changed(labelled(NODE, kindling_role="worker"), "ports", [])
CAPABILITIES_NODE = {
    **{k: v for k, v in NODE.items() if k != "privileged"},
    "privileged": False,
    "capabilities": {"adds": ["SYS_ADMIN", "NET_ADMIN"]},
    "deviceCgroupRules": ["a *:* rwm"],
    "cgroupnsMode": "private",
}
PLAIN_CONTAINER = {"name": "registry", "image": "registry:2.8.3", "restart": "no"}
LOAD_BALANCER = {
    "name": "c-lb",
    "image": "sha256:" + "b" * 64,
    "labels": [{"label": "kindling.cluster", "value": "c"}, {"label": "kindling.role", "value": "load-balancer"}],
    "networksAdvanced": [{"name": "c", "ipv4Address": "10.19.1.254"}],
    "ports": [{"internal": 6443, "ip": "127.0.0.1", "external": 40123, "protocol": "tcp"}],
    "restart": "unless-stopped",
}


def golden_documents(name: str) -> tuple[str, str]:
    """The init and the join configuration of a golden file (reviewed by hand, not made by the renderer
    these policies check), the join's credentials as the placeholders the program passes."""
    documents = [d for d in yaml.safe_load_all((ROOT / "tests" / "golden" / name).read_text()) if d]
    init = [d for d in documents if d["kind"] != "JoinConfiguration"]
    (join,) = [d for d in documents if d["kind"] == "JoinConfiguration"]
    join["discovery"]["bootstrapToken"]["token"] = "@KINDLING_JOIN_TOKEN@"
    join["discovery"]["bootstrapToken"]["caCertHashes"] = ["@KINDLING_CA_CERT_HASH@"]
    return yaml.safe_dump_all(init, sort_keys=False), yaml.safe_dump(join, sort_keys=False)


INIT_CONFIG, JOIN_CONFIG = golden_documents("k8s-1-30-0.yaml")
INIT = {
    "create": "docker exec -i c-control-plane /bin/sh -c 'kubeadm init ...' kubeadm-init.sh c-control-plane",
    "stdin": INIT_CONFIG,
    "triggers": ["c-control-plane-id"],
}
JOIN = {
    "create": "/bin/sh -c 'kubeadm token create ...' kubeadm-join.sh c-control-plane c-worker-1",
    "stdin": JOIN_CONFIG,
}
KUBECONFIG = {
    "create": "docker exec c-control-plane /bin/sh -c 'cat admin.conf' admin-kubeconfig.sh",
    "logging": "stderr",
}
SYSTEMD = {"create": "/bin/sh -c '...' wait-for-systemd.sh container c-control-plane 180"}
# One of your own images (kindling:images), loaded into running nodes.
LOAD = {
    "create": '/bin/sh -c "$KINDLING_SCRIPT" images-into-nodes.sh load c-control-plane c-worker-1',
    "delete": '/bin/sh -c "$KINDLING_SCRIPT" images-into-nodes.sh remove c-control-plane c-worker-1',
    "environment": {
        "KINDLING_SCRIPT": "...",
        "KINDLING_NODE_SCRIPT": "...",
        contract.LOADED_IMAGE_VARIABLE: "app:dev",
        contract.LOADED_IMAGE_ID_VARIABLE: "sha256:" + "1" * 64,
        "KINDLING_NODE_CONTAINERS": "c-control-plane-id c-worker-1-id",
    },
}


def documents(text: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(text))


def with_documents(props: dict[str, Any], edit) -> dict[str, Any]:
    """The init Command with its kubeadm documents edited by ``edit(list_of_documents)``."""
    docs = documents(props["stdin"])
    edit(docs)
    return {**props, "stdin": yaml.safe_dump_all(docs, sort_keys=False)}


def kind(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == name]
    return found


# --- the pod network's Helm release ----------------------------------------------------------------------

CALICO = {
    "name": "calico",
    "chart": "https://github.com/projectcalico/calico/releases/download/v3.28.5/tigera-operator-v3.28.5.tgz",
    "version": "v3.28.5",
    "namespace": "tigera-operator",
    "values": {"installation": {"calicoNetwork": {"ipPools": [{"cidr": "10.244.0.0/16"}]}}},
}


# A bootstrap token as kubeadm makes them, for the policies that must never see one.
TOKEN = "abcdef.0123456789abcdef"


# --- a kindling stack, for the stack policies ------------------------------------------------------------

MANIFEST_1_30 = "\n".join(
    [
        "kubeadm kubernetes v1.30.0/bin/linux/{arch}/kubeadm file:x bin:/usr/bin/kubeadm",
        "kubelet kubernetes v1.30.0/bin/linux/{arch}/kubelet file:x bin:/usr/bin/kubelet",
        "kubectl kubernetes v1.30.0/bin/linux/{arch}/kubectl file:x bin:/usr/bin/kubectl",
        "containerd containerd v1.7.15/containerd-1.7.15-linux-{arch}.tar.gz file:x untar:/usr/local",
        "runc runc v1.1.12/runc.{arch} file:x bin:/usr/local/sbin/runc",
        "cni-plugins cniPlugins v1.4.1/cni-plugins-linux-{arch}-v1.4.1.tgz file:x untar:/opt/cni/bin",
        "crictl crictl v1.29.0/crictl-v1.29.0-linux-{arch}.tar.gz file:x untar:/usr/local/bin",
        "helm helm helm-v3.15.0-linux-{arch}.tar.gz file:x untar-member:linux-{arch}/helm:/usr/local/bin/helm",
    ]
)
NODE_IMAGE = {
    "name": "kindling/c:v1.30.0-0123456789ab",
    "build": {
        "context": "/repo/node-image",
        "buildArgs": {
            "KUBERNETES_VERSION": "1.30.0",
            "KINDLING_ARTIFACTS": MANIFEST_1_30,
            "CGROUP_DRIVER": "systemd",
            "PAUSE_IMAGE": "registry.k8s.io/pause:3.9",
            "BASE_IMAGE": "ubuntu:22.04",
        },
    },
}
DOCKER_NETWORK = {"name": "c", "ipamConfigs": [{"subnet": "10.30.0.0/24", "gateway": "10.30.0.1"}]}


def cluster(**replace: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """A kindling stack of Kubernetes 1.30.0; keyword arguments replace one resource's props by name."""
    resources = [
        (NETWORK, "network", DOCKER_NETWORK),
        (REMOTE_IMAGE, "node-image", NODE_IMAGE),
        (CONTAINER, "control-plane", NODE),
        (COMMAND, "kubeadm-init", INIT, contract.CONTROL_PLANE_TYPE),
        (COMMAND, "kubeadm-admin-kubeconfig", KUBECONFIG, contract.CONTROL_PLANE_TYPE),
        (RELEASE, "calico", CALICO, contract.ADDONS_TYPE),
    ]
    return [
        (t, n, replace.get(n.replace("-", "_"), p), *parent)
        for t, n, p, *parent in resources
        if replace.get(n.replace("-", "_"), p)
    ]


MATCHES = "node-image-matches-kubeadm-config"
SKEW = "component-version-skew"
NETWORKS = "cluster-networks-consistent"

# A flannel release as the program registers it for the reference pod subnet.
FLANNEL = {
    "name": "flannel",
    "chart": "/dl/v0.26.7/flannel.tgz",
    "version": "v0.26.7",
    "values": {"podCidr": "10.244.0.0/16"},
}
