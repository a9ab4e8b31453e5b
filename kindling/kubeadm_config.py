"""Render the kubeadm configuration of a cluster spec, in the API its release speaks.

The control-plane file holds ClusterConfiguration, InitConfiguration,
KubeletConfiguration and KubeProxyConfiguration. Workers, and the further
control planes of a highly available cluster, get a JoinConfiguration of their
own with placeholders for the bootstrap token (and the certificate key) the
join script obtains just before joining, so no credential is ever written into
a config.

Choices that make a node work inside a container (as kind and the
docker_archive images make them):
  * kube-proxy ``conntrack.maxPerCore: 0``: a container may not write
    ``nf_conntrack_max`` on kernels >= 5.12.2, and kube-proxy dies trying;
  * kubelet ``failSwapOn: false``, ``imageGCHighThresholdPercent: 100`` and
    ``evictionHard`` at 0%: the node's disk is the host's disk, so the kubelet
    must not evict or garbage-collect on the host's behalf.
"""

from __future__ import annotations

from typing import Any

import yaml

from kindling.contract import API_SERVER_PORT
from kindling.spec import ClusterSpec

CRI_SOCKET = "unix:///run/containerd/containerd.sock"

KUBELET_API = "kubelet.config.k8s.io/v1beta1"
KUBE_PROXY_API = "kubeproxy.config.k8s.io/v1alpha1"


def _args(spec: ClusterSpec, args: dict[str, str]) -> Any:
    """Component arguments: a map up to v1beta3, a list of {name, value} from v1beta4."""
    if spec.traits.kubeadm_api_version in ("v1beta2", "v1beta3"):
        return dict(args)
    return [{"name": name, "value": value} for name, value in args.items()]


def control_plane_endpoint(spec: ClusterSpec) -> str:
    # The node's container name resolves on the cluster's Docker network, and
    # its address is fixed, so workers and certificates keep working after a
    # restart of Docker or the host. Several control planes are reached through
    # their load balancer, so that any one of them may be down.
    host = spec.load_balancer_name if spec.highly_available else spec.control_plane_name
    return f"{host}:{API_SERVER_PORT}"


def provider_id(spec: ClusterSpec, node_name: str) -> str:
    return f"kindling://docker/{spec.name}/{node_name}"


def _node_registration(spec: ClusterSpec, node_index: int) -> dict[str, Any]:
    node_name = spec.node_names[node_index]
    return {
        "criSocket": CRI_SOCKET,
        "kubeletExtraArgs": _args(
            spec,
            {
                "fail-swap-on": "false",
                "node-ip": str(spec.node_ip(node_index)),
                "provider-id": provider_id(spec, node_name),
            },
        ),
    }


def cluster_configuration(spec: ClusterSpec) -> dict[str, Any]:
    return {
        "apiVersion": spec.traits.kubeadm_api,
        "kind": "ClusterConfiguration",
        "clusterName": spec.name,
        "kubernetesVersion": f"v{spec.kubernetes}",
        "controlPlaneEndpoint": control_plane_endpoint(spec),
        "imageRepository": spec.image_repository,
        "apiServer": {
            "certSANs": spec.api_server_sans,
            "extraArgs": _args(spec, {"runtime-config": ""}),
        },
        "controllerManager": {
            # hostPath PersistentVolumes work without a storage provisioner.
            "extraArgs": _args(spec, {"enable-hostpath-provisioner": "true"}),
        },
        "networking": {
            "podSubnet": str(spec.pod_subnet),
            "serviceSubnet": str(spec.service_subnet),
        },
    }


def init_configuration(spec: ClusterSpec) -> dict[str, Any]:
    return {
        "apiVersion": spec.traits.kubeadm_api,
        "kind": "InitConfiguration",
        "localAPIEndpoint": {
            "advertiseAddress": str(spec.control_plane_ip),
            "bindPort": API_SERVER_PORT,
        },
        "nodeRegistration": _node_registration(spec, 0),
    }


def _join(spec: ClusterSpec, node_index: int, token: str, ca_cert_hash: str) -> dict[str, Any]:
    return {
        "apiVersion": spec.traits.kubeadm_api,
        "kind": "JoinConfiguration",
        "discovery": {
            "bootstrapToken": {
                "apiServerEndpoint": control_plane_endpoint(spec),
                "token": token,
                "caCertHashes": [ca_cert_hash],
            },
        },
        "nodeRegistration": _node_registration(spec, node_index),
    }


def join_configuration(spec: ClusterSpec, worker_index: int, token: str, ca_cert_hash: str) -> dict[str, Any]:
    return _join(spec, spec.worker_node_index(worker_index), token, ca_cert_hash)


def control_plane_join_configuration(
    spec: ClusterSpec, index: int, token: str, ca_cert_hash: str, certificate_key: str
) -> dict[str, Any]:
    """Control plane ``index`` (1 or more) joining: the `controlPlane` section is the configuration's
    `--control-plane`, and its certificateKey the `--certificate-key` (kubeadm refuses both flags
    beside --config)."""
    document = _join(spec, index, token, ca_cert_hash)
    document["controlPlane"] = {
        "localAPIEndpoint": {"advertiseAddress": str(spec.node_ip(index)), "bindPort": API_SERVER_PORT},
        "certificateKey": certificate_key,
    }
    # Taints stay kubeadm's here even without workers: the join script removes them, so that adding a
    # worker later changes no control plane's configuration (which would replace its node).
    return document


def kubelet_configuration(spec: ClusterSpec) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": KUBELET_API,
        "kind": "KubeletConfiguration",
        "cgroupDriver": spec.traits.cgroup_driver,
        "failSwapOn": False,
        "imageGCHighThresholdPercent": 100,
        "evictionHard": {
            "nodefs.available": "0%",
            "nodefs.inodesFree": "0%",
            "imagefs.available": "0%",
        },
    }
    if spec.traits.needs_fail_cgroup_v1_false:
        # From 1.35 the kubelet refuses to start on a cgroup v1 host unless told
        # otherwise; on cgroup v2 hosts the setting has no effect.
        document["failCgroupV1"] = False
    return document


def kube_proxy_configuration(spec: ClusterSpec) -> dict[str, Any]:
    return {
        "apiVersion": KUBE_PROXY_API,
        "kind": "KubeProxyConfiguration",
        "mode": spec.kube_proxy_mode,
        "iptables": {"minSyncPeriod": "1s"},
        "conntrack": {"maxPerCore": 0},
    }


def _dump(documents: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)


def render_init_config(spec: ClusterSpec) -> str:
    """The file `kubeadm init --config` reads on the control-plane node."""
    return _dump(
        [
            cluster_configuration(spec),
            init_configuration(spec),
            kubelet_configuration(spec),
            kube_proxy_configuration(spec),
        ]
    )


def render_join_config(spec: ClusterSpec, worker_index: int, token: str, ca_cert_hash: str) -> str:
    """The file `kubeadm join --config` reads on worker ``worker_index`` (0-based)."""
    return _dump([join_configuration(spec, worker_index, token, ca_cert_hash)])


def render_control_plane_join_config(
    spec: ClusterSpec, index: int, token: str, ca_cert_hash: str, certificate_key: str
) -> str:
    """The file `kubeadm join --config` reads on control plane ``index`` (1 or more)."""
    return _dump([control_plane_join_configuration(spec, index, token, ca_cert_hash, certificate_key)])


def render_kubelet_identity_config(spec: ClusterSpec, node_index: int) -> str:
    """What `kubeadm init phase kubeconfig kubelet` reads on the control plane to make node ``node_index``'s
    kubelet kubeconfig (a worker restored from a snapshot): the cluster's configuration, that node's name."""
    init = init_configuration(spec)
    init["nodeRegistration"] = {**_node_registration(spec, node_index), "name": spec.node_names[node_index]}
    return _dump([cluster_configuration(spec), init])
