"""Each policy of the pack on hand-built resources: passes the good, reports the bad, ignores the rest.

Properties go through ``tests.policy_args.engine_props``, so policies see them
as the analyzer hands them over (numbers as doubles, unknowns as sentinels,
wrapped in pulumi-policy's unknown-checking proxy).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from kindling import contract
from kindling.kubeadm_config import render_init_config
from kindling.spec import build_spec
from policies import shapes
from policies.kindling_policies import POLICIES, SEVERITY, Severity
from tests.policy_args import UNKNOWN, resource_args, run, run_with_urns, stack_args
from tests.support import ROOT

CONTAINER, REMOTE_IMAGE, NETWORK = shapes.CONTAINER, shapes.REMOTE_IMAGE, shapes.NETWORK
COMMAND, RELEASE, K8S_PROVIDER = shapes.COMMAND, shapes.HELM_RELEASE, shapes.KUBERNETES_PROVIDER
MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY

BY_NAME = {policy.name: policy for policy in POLICIES}
# Where the program registers the Commands these policies look at: steps of the control plane.
AT_INIT = {"name": "kubeadm-init", "parent": contract.CONTROL_PLANE_TYPE}
AT_KUBECONFIG = {"name": "kubeadm-admin-kubeconfig", "parent": contract.CONTROL_PLANE_TYPE}
AT_JOIN = {"name": "worker-1-join", "parent": contract.JOIN_TYPE}
AT_SYSTEMD = {"name": "control-plane-systemd", "parent": contract.NODE_CONTAINER_TYPE}
SUBJECTS = {
    "kube-proxy-conntrack-unmanaged": AT_INIT,
    "kubeadm-api-matches-release": AT_INIT,
    "admin-kubeconfig-secret": AT_KUBECONFIG,
    "admin-kubeconfig-not-logged": AT_KUBECONFIG,
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
SYSTEMD = {"create": "/bin/sh -c '...' wait-for-systemd.sh c-control-plane 180"}


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


def test_the_fixtures_are_what_the_program_renders():
    assert kind(documents(INIT_CONFIG), "KubeProxyConfiguration")["conntrack"] == {"maxPerCore": 0}
    assert kind(documents(INIT_CONFIG), "ClusterConfiguration")["apiVersion"] == "kubeadm.k8s.io/v1beta3"


# --- metadata -------------------------------------------------------------------------------------

# The README's table; a change of level or severity is a change of that table too.
EXPECTED = {
    "node-lib-modules-read-only": (MANDATORY, Severity.CRITICAL),
    "kube-proxy-conntrack-unmanaged": (MANDATORY, Severity.HIGH),
    "api-server-loopback-only": (MANDATORY, Severity.HIGH),
    "published-ports-loopback-only": (MANDATORY, Severity.HIGH),
    "load-balancer-publishes-only-the-api-server": (MANDATORY, Severity.MEDIUM),
    "admin-kubeconfig-secret": (MANDATORY, Severity.CRITICAL),
    "admin-kubeconfig-not-logged": (MANDATORY, Severity.HIGH),
    "privileges-only-on-nodes": (MANDATORY, Severity.CRITICAL),
    "kubeadm-api-matches-release": (MANDATORY, Severity.HIGH),
    "kubeadm-config-without-credentials": (MANDATORY, Severity.HIGH),
    "cluster-provider-explicit-kubeconfig": (MANDATORY, Severity.CRITICAL),
    "helm-chart-pinned": (MANDATORY, Severity.MEDIUM),
    "node-image-pinned": (MANDATORY, Severity.MEDIUM),
    "node-restarts-on-failure": (ADVISORY, Severity.LOW),
    "node-image-matches-kubeadm-config": (MANDATORY, Severity.HIGH),
    "component-version-skew": (ADVISORY, Severity.MEDIUM),
    "cluster-networks-consistent": (MANDATORY, Severity.HIGH),
}


def test_every_policy_sets_its_level_and_severity_explicitly():
    assert {p.name: (p.enforcement_level, SEVERITY[p.name]) for p in POLICIES} == EXPECTED


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_every_description_states_severity_what_breaks_and_how_to_fix_it(policy):
    severity, rest = policy.description.split(". ", 1)
    assert severity == f"Severity: {SEVERITY[policy.name].value}"
    breaks, fix = rest.split(" Fix: ")
    assert len(breaks) > 80 and fix


@pytest.mark.parametrize("policy", [p for p in POLICIES if p.config_schema], ids=lambda p: p.name)
def test_every_setting_has_a_default(policy):
    for key, schema in policy.config_schema.properties.items():
        assert "default" in schema, key
        assert schema.get("description"), key


# --- node-lib-modules-read-only ---------------------------------------------------------------------

LIB = "node-lib-modules-read-only"


@pytest.mark.parametrize(
    "props", [NODE, WORKER, CAPABILITIES_NODE, PLAIN_CONTAINER], ids=["cp", "worker", "caps", "plain"]
)
def test_lib_modules_read_only_passes(props):
    assert check(LIB, CONTAINER, props) == []


@pytest.mark.parametrize("read_only", [False, DELETE])
def test_lib_modules_writable_is_reported(read_only):
    (message,) = check(LIB, CONTAINER, changed(NODE, "mounts.0.readOnly", read_only))
    assert "mounts[0] binds the host's /lib/modules writable" in message


def test_lib_modules_writable_is_reported_even_on_a_host_labelled_without_them():
    props = labelled(changed(NODE, "mounts.0.readOnly", False), kindling_host_lib_modules="absent-on-host")
    assert len(check(LIB, CONTAINER, props)) == 1


@pytest.mark.parametrize(
    "bind",
    [
        {"type": "bind", "source": "/", "target": "/host"},
        {"type": "bind", "source": "/lib", "target": "/lib"},
        {"type": "bind", "source": "/usr/lib/modules", "target": "/lib/modules"},
        {"type": "bind", "source": "/lib/modules/6.1.0-13-amd64/", "target": "/m"},
    ],
)
def test_any_writable_bind_of_the_host_modules_is_reported_on_any_container(bind):
    (message,) = check(LIB, CONTAINER, {**PLAIN_CONTAINER, "mounts": [bind]})
    assert "writable" in message and "'subject'" in message


def test_writable_host_path_volume_is_reported():
    props = {**PLAIN_CONTAINER, "volumes": [{"hostPath": "/lib/modules", "containerPath": "/lib/modules"}]}
    (message,) = check(LIB, CONTAINER, props)
    assert message.startswith("volumes[0] binds the host's /lib/modules writable")


def test_read_only_host_path_volume_satisfies_a_node():
    volume = {"hostPath": "/lib/modules", "containerPath": "/lib/modules", "readOnly": True}
    assert check(LIB, CONTAINER, {**NODE, "mounts": [], "volumes": [volume]}) == []


@pytest.mark.parametrize("label", ["mounted", None, "whatever"])
def test_node_without_the_mount_is_reported_unless_labelled_absent_on_host(label):
    props = labelled(changed(NODE, "mounts", []), kindling_host_lib_modules=label)
    (message,) = check(LIB, CONTAINER, props)
    assert "does not bind the host's /lib/modules" in message


def test_node_on_a_host_without_lib_modules_may_lack_the_mount():
    props = labelled(changed(NODE, "mounts", []), kindling_host_lib_modules="absent-on-host")
    assert check(LIB, CONTAINER, props) == []


def test_mount_elsewhere_does_not_count():
    props = changed(NODE, "mounts.0.target", "/host/lib/modules")
    assert "does not bind" in check(LIB, CONTAINER, props)[0]


@pytest.mark.parametrize("path", ["mounts", "mounts.0.readOnly", "mounts.0.source", "labels"])
def test_lib_modules_skips_what_a_preview_does_not_know(path):
    assert check(LIB, CONTAINER, changed(NODE, path, UNKNOWN)) == []


def test_lib_modules_ignores_other_resources():
    assert check(LIB, COMMAND, {"create": "mount /lib/modules"}) == []


# --- kube-proxy-conntrack-unmanaged ----------------------------------------------------------------------

CONNTRACK = "kube-proxy-conntrack-unmanaged"


def test_conntrack_passes_the_rendered_config():
    assert check(CONNTRACK, COMMAND, INIT) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: kind(d, "KubeProxyConfiguration").__setitem__("conntrack", {"maxPerCore": 32768}), "32768"),
        (lambda d: kind(d, "KubeProxyConfiguration").__setitem__("conntrack", {"maxPerCore": False}), "False"),
        (lambda d: kind(d, "KubeProxyConfiguration").pop("conntrack"), "maxPerCore unset"),
        (lambda d: d.remove(kind(d, "KubeProxyConfiguration")), "has no KubeProxyConfiguration"),
    ],
    ids=["default-value", "false", "no-conntrack", "no-document"],
)
def test_conntrack_left_at_the_default_is_reported(edit, expected):
    (message,) = check(CONNTRACK, COMMAND, with_documents(INIT, edit))
    assert expected in message and "permission denied" in message


@pytest.mark.parametrize(
    ("stdin", "expected"), [(None, "carries no kubeadm configuration"), ("a: [", "cannot read"), ("- 1", "kind")]
)
def test_unreadable_or_missing_config_is_reported(stdin, expected):
    props = {k: v for k, v in INIT.items() if k != "stdin"} | ({"stdin": stdin} if stdin else {})
    (message,) = check(CONNTRACK, COMMAND, props)
    assert expected in message


def test_a_cluster_without_kube_proxy_needs_no_conntrack_setting():
    def edit(docs):
        docs.remove(kind(docs, "KubeProxyConfiguration"))
        kind(docs, "InitConfiguration")["skipPhases"] = ["addon/kube-proxy"]

    assert check(CONNTRACK, COMMAND, with_documents(INIT, edit)) == []


@pytest.mark.parametrize("path", ["stdin", "create"])
def test_conntrack_skips_what_a_preview_does_not_know(path):
    assert check(CONNTRACK, COMMAND, changed(INIT, path, UNKNOWN)) == []


@pytest.mark.parametrize("props, where", [(JOIN, AT_JOIN), (KUBECONFIG, AT_KUBECONFIG), (SYSTEMD, AT_SYSTEMD)])
def test_conntrack_ignores_other_commands(props, where):
    assert check(CONNTRACK, COMMAND, props, **where) == []


# --- api-server-loopback-only / published-ports-loopback-only ------------------------------------------------

API = "api-server-loopback-only"
PORTS = "published-ports-loopback-only"


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.0.0.2", "::1"])
def test_api_server_on_loopback_passes(ip):
    assert check(API, CONTAINER, changed(NODE, "ports.0.ip", ip)) == []
    assert check(PORTS, CONTAINER, changed(NODE, "ports.0.ip", ip)) == []


@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "192.168.1.10"])
def test_api_server_beyond_loopback_is_reported(ip):
    (message,) = check(API, CONTAINER, changed(NODE, "ports.0.ip", ip))
    assert f"publishes the API server of 'subject' on {ip}" in message and "allowedAddresses" in message
    assert check(PORTS, CONTAINER, changed(NODE, "ports.0.ip", ip)) == [], "reported once, by the API server policy"


def test_api_server_without_an_ip_is_on_every_interface():
    (message,) = check(API, CONTAINER, changed(NODE, "ports.0.ip", DELETE))
    assert "without an ip" in message


@pytest.mark.parametrize(("ip", "allowed"), [("0.0.0.0", "0.0.0.0"), ("192.168.1.10", "192.168.1.10"), ("::", "::0")])
def test_api_server_address_in_the_allow_list_passes(ip, allowed):
    props = changed(NODE, "ports.0.ip", ip)
    assert check(API, CONTAINER, props, config={"allowedAddresses": [allowed]}) == []
    assert len(check(API, CONTAINER, props, config={"allowedAddresses": ["10.0.0.1"]})) == 1


def test_api_server_policy_ignores_containers_that_are_not_nodes():
    props = {**PLAIN_CONTAINER, "ports": [{"internal": 6443, "ip": "0.0.0.0"}]}
    assert check(API, CONTAINER, props) == []
    assert "port 6443 of 'subject' on 0.0.0.0" in check(PORTS, CONTAINER, props)[0]


@pytest.mark.parametrize("path", ["ports", "ports.0.ip", "ports.0.internal", "labels"])
def test_port_policies_skip_what_a_preview_does_not_know(path):
    props = changed(changed(NODE, "ports.0.ip", "0.0.0.0"), path, UNKNOWN)
    assert check(API, CONTAINER, props) == []
    assert check(PORTS, CONTAINER, props) == []


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        ({"internal": 22, "ip": "0.0.0.0"}, "port 22 of 'subject' on 0.0.0.0"),
        ({"internal": 10250}, "port 10250 of 'subject' without an ip"),
        ({"internal": 2379, "ip": "10.0.0.5"}, "port 2379 of 'subject' on 10.0.0.5"),
    ],
)
def test_other_ports_beyond_loopback_are_reported(port, expected):
    props = changed(NODE, "ports", [*NODE["ports"], port])
    (message,) = check(PORTS, CONTAINER, props)
    assert expected in message


def test_other_ports_on_loopback_or_allowed_pass():
    props = changed(
        NODE, "ports", [*NODE["ports"], {"internal": 22, "ip": "127.0.0.1"}, {"internal": 80, "ip": "10.1.1.1"}]
    )
    assert check(PORTS, CONTAINER, props, config={"allowedAddresses": ["10.1.1.1"]}) == []


def test_node_on_the_host_network_is_reported():
    (message,) = check(PORTS, CONTAINER, {**NODE, "networkMode": "host", "ports": []})
    assert "uses the host's network" in message


@pytest.mark.parametrize("ip", ["0.0.0.0", "192.168.1.10"])
def test_the_load_balancers_api_server_port_is_under_the_api_server_policy(ip):
    props = changed(LOAD_BALANCER, "ports.0.ip", ip)
    (message,) = check(API, CONTAINER, props)
    assert f"publishes the API server of 'subject' on {ip}" in message
    assert check(PORTS, CONTAINER, props) == [], "reported once, by the API server policy"
    assert check(API, CONTAINER, props, config={"allowedAddresses": [ip]}) == []
    assert check(API, CONTAINER, LOAD_BALANCER) == []


def test_another_port_of_the_load_balancer_beyond_loopback_is_reported_by_the_ports_policy():
    props = changed(LOAD_BALANCER, "ports", [*LOAD_BALANCER["ports"], {"internal": 8404, "ip": "0.0.0.0"}])
    (message,) = check(PORTS, CONTAINER, props)
    assert "port 8404 of 'subject' on 0.0.0.0" in message


def test_port_policies_ignore_other_resources():
    assert check(PORTS, NETWORK, {"name": "c", "ports": [{"internal": 22}]}) == []
    assert check(API, NETWORK, {"name": "c", "ports": [{"internal": 6443}]}) == []


# --- load-balancer-publishes-only-the-api-server ---------------------------------------------------------

BALANCER = "load-balancer-publishes-only-the-api-server"


@pytest.mark.parametrize("ports", [LOAD_BALANCER["ports"], [{"internal": 6443, "ip": "0.0.0.0"}], []])
def test_a_load_balancer_publishing_the_api_server_at_most_once_passes(ports):
    assert check(BALANCER, CONTAINER, changed(LOAD_BALANCER, "ports", ports)) == []


@pytest.mark.parametrize("ip", ["127.0.0.1", "0.0.0.0"])
def test_any_other_port_of_the_load_balancer_is_reported_even_on_loopback(ip):
    props = changed(LOAD_BALANCER, "ports", [*LOAD_BALANCER["ports"], {"internal": 8404, "ip": ip}])
    (message,) = check(BALANCER, CONTAINER, props)
    assert message.startswith("ports[1] publishes port 8404 of load balancer 'subject'")


def test_the_api_server_published_twice_by_the_load_balancer_is_reported():
    second = {"internal": 6443, "ip": "127.0.0.2", "external": 40124}
    (message,) = check(BALANCER, CONTAINER, changed(LOAD_BALANCER, "ports", [*LOAD_BALANCER["ports"], second]))
    assert "publishes the API server port 2 times" in message


@pytest.mark.parametrize("props", [NODE, changed(NODE, "ports", [*NODE["ports"], {"internal": 22}]), PLAIN_CONTAINER])
def test_the_load_balancer_policy_ignores_nodes_and_other_containers(props):
    assert check(BALANCER, CONTAINER, props) == []


@pytest.mark.parametrize("path", ["ports", "ports.1", "ports.1.internal", "labels"])
def test_the_load_balancer_policy_skips_what_a_preview_does_not_know(path):
    props = changed(LOAD_BALANCER, "ports", [*LOAD_BALANCER["ports"], {"internal": 8404, "ip": "127.0.0.1"}])
    assert check(BALANCER, CONTAINER, changed(props, path, UNKNOWN)) == []


def test_a_privileged_load_balancer_is_refused():
    (message,) = check("privileges-only-on-nodes", CONTAINER, {**LOAD_BALANCER, "privileged": True})
    assert "is not a kindling node" in message


# --- admin kubeconfig ----------------------------------------------------------------------------------

SECRET = "admin-kubeconfig-secret"
LOGGED = "admin-kubeconfig-not-logged"


def test_kubeconfig_with_secret_stdout_passes():
    assert check(SECRET, COMMAND, KUBECONFIG, additional_secret_outputs=["stdout"]) == []


@pytest.mark.parametrize("outputs", [[], ["stderr"]])
def test_kubeconfig_without_secret_stdout_is_reported(outputs):
    (message,) = check(SECRET, COMMAND, KUBECONFIG, additional_secret_outputs=outputs)
    assert "not in additionalSecretOutputs" in message


@pytest.mark.parametrize("props, where", [(INIT, AT_INIT), (JOIN, AT_JOIN), (SYSTEMD, AT_SYSTEMD)])
def test_kubeconfig_secret_ignores_other_commands(props, where):
    assert check(SECRET, COMMAND, props, **where) == []


def test_the_kubeconfig_command_is_found_by_where_it_is_not_by_what_it_runs():
    # A preview may not know the Command's create; the policy still knows which Command it is.
    (message,) = check(SECRET, COMMAND, changed(KUBECONFIG, "create", UNKNOWN))
    assert "not in additionalSecretOutputs" in message


@pytest.mark.parametrize("logging", ["stderr", "none"])
def test_kubeconfig_not_logged_passes(logging):
    assert check(LOGGED, COMMAND, {**KUBECONFIG, "logging": logging}) == []


@pytest.mark.parametrize(
    ("logging", "shown"),
    [(DELETE, "stdoutAndStderr (the default)"), ("stdout", "stdout"), ("stdoutAndStderr", "stdoutAndStderr")],
)
def test_kubeconfig_logged_is_reported(logging, shown):
    (message,) = check(LOGGED, COMMAND, changed(KUBECONFIG, "logging", logging))
    assert f"logging {shown!r}" in message


@pytest.mark.parametrize(
    "props, where",
    [(changed(KUBECONFIG, "logging", UNKNOWN), AT_KUBECONFIG), (INIT, AT_INIT), (SYSTEMD, AT_SYSTEMD)],
)
def test_kubeconfig_logging_skips_unknowns_and_other_commands(props, where):
    assert check(LOGGED, COMMAND, props, **where) == []


# --- privileges-only-on-nodes -----------------------------------------------------------------------------

PRIVILEGES = "privileges-only-on-nodes"


@pytest.mark.parametrize(
    "props", [NODE, WORKER, CAPABILITIES_NODE, PLAIN_CONTAINER], ids=["cp", "worker", "caps", "plain"]
)
def test_privileges_pass_on_nodes_and_plain_containers(props):
    assert check(PRIVILEGES, CONTAINER, props) == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"privileged": True}, "privileged: true"),
        ({"capabilities": {"adds": ["SYS_ADMIN"]}}, "capabilities.adds ['SYS_ADMIN']"),
        ({"deviceCgroupRules": ["a *:* rwm"]}, "deviceCgroupRules"),
        ({"devices": [{"hostPath": "/dev/kvm"}]}, "devices"),
        ({"securityOpts": ["seccomp=unconfined"]}, "securityOpts seccomp=unconfined"),
        ({"pidMode": "host"}, "pidMode: host"),
        ({"networkMode": "host"}, "networkMode: host"),
        ({"mounts": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]}, "the Docker socket"),
    ],
)
def test_privileges_on_other_containers_are_reported(extra, expected):
    (message,) = check(PRIVILEGES, CONTAINER, {**PLAIN_CONTAINER, **extra})
    assert expected in message and "root on the Docker host" in message


def test_a_label_alone_does_not_make_a_node():
    props = labelled(NODE, kindling_role="helper")
    assert "privileged: true" in check(PRIVILEGES, CONTAINER, props)[0]
    assert "privileged: true" in check(PRIVILEGES, CONTAINER, labelled(NODE, kindling_cluster=None))[0]


def test_capability_drops_are_fine():
    assert check(PRIVILEGES, CONTAINER, {**PLAIN_CONTAINER, "capabilities": {"drops": ["ALL"]}}) == []


def test_privileges_skip_unknown_labels():
    assert check(PRIVILEGES, CONTAINER, changed(NODE, "labels", UNKNOWN)) == []
    assert check(PRIVILEGES, CONTAINER, changed(NODE, "labels.1.value", UNKNOWN)) == []


# --- kubeadm-api-matches-release ---------------------------------------------------------------------------

KUBEADM_API = "kubeadm-api-matches-release"


def init_for(version: str, api: str | None = None) -> dict[str, Any]:
    props = {**INIT, "stdin": render_init_config(build_spec({"kubernetesVersion": version}, "c"))}
    if api is None:
        return props

    def edit(docs):
        for doc in docs:
            if doc["apiVersion"].startswith("kubeadm.k8s.io/"):
                doc["apiVersion"] = f"kubeadm.k8s.io/{api}"

    return with_documents(props, edit)


@pytest.mark.parametrize(
    ("version", "api"),
    [("1.18.2", "v1beta2"), ("1.22.0", "v1beta2"), ("1.23.0", "v1beta3"), ("1.30.0", "v1beta3"), ("1.31.0", "v1beta4")],
)
def test_kubeadm_api_of_the_release_passes(version, api):
    assert check(KUBEADM_API, COMMAND, init_for(version, api)) == []
    assert check(KUBEADM_API, COMMAND, init_for(version)) == []


@pytest.mark.parametrize(
    ("version", "api", "expected"),
    [
        ("1.22.0", "v1beta3", "v1beta2"),
        ("1.23.0", "v1beta2", "v1beta3"),
        ("1.30.0", "v1beta4", "v1beta3"),
        ("1.31.0", "v1beta3", "v1beta4"),
    ],
)
def test_kubeadm_api_of_another_release_is_reported(version, api, expected):
    messages = check(KUBEADM_API, COMMAND, init_for(version, api))
    assert len(messages) == 2  # ClusterConfiguration and InitConfiguration
    assert all(f"renders and tests kubeadm.k8s.io/{expected}" in m for m in messages)


def test_one_document_in_another_api_is_reported():
    def edit(docs):
        kind(docs, "InitConfiguration")["apiVersion"] = "kubeadm.k8s.io/v1beta4"

    (message,) = check(KUBEADM_API, COMMAND, with_documents(INIT, edit))
    assert message.startswith("the InitConfiguration of 'kubeadm-init' uses kubeadm.k8s.io/v1beta4")


@pytest.mark.parametrize(
    ("version", "expected"),
    [("stable-1", "not one exact release"), ("v1.30", "not one exact release"), (None, "None"), ("v1.17.3", "older")],
)
def test_kubernetes_version_that_is_not_one_supported_release_is_reported(version, expected):
    def edit(docs):
        kind(docs, "ClusterConfiguration")["kubernetesVersion"] = version

    (message,) = check(KUBEADM_API, COMMAND, with_documents(INIT, edit))
    assert expected in message


def test_config_without_cluster_configuration_is_reported():
    (message,) = check(KUBEADM_API, COMMAND, with_documents(INIT, lambda d: d.remove(kind(d, "ClusterConfiguration"))))
    assert "has no ClusterConfiguration" in message


@pytest.mark.parametrize(
    "props, where", [(changed(INIT, "stdin", UNKNOWN), AT_INIT), (JOIN, AT_JOIN), (KUBECONFIG, AT_KUBECONFIG)]
)
def test_kubeadm_api_skips_unknowns_and_other_commands(props, where):
    assert check(KUBEADM_API, COMMAND, props, **where) == []


# --- kubeadm-config-without-credentials ----------------------------------------------------------------

CREDENTIALS = "kubeadm-config-without-credentials"
TOKEN = "abcdef.0123456789abcdef"


@pytest.mark.parametrize("props", [INIT, JOIN, KUBECONFIG, SYSTEMD])
def test_commands_without_credentials_pass(props):
    assert check(CREDENTIALS, COMMAND, props) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**JOIN, "stdin": JOIN_CONFIG.replace("'@KINDLING_JOIN_TOKEN@'", TOKEN)}, "stdin of Command"),
        ({**JOIN, "create": f"kubeadm join --token {TOKEN}"}, "create of Command"),
        ({**SYSTEMD, "environment": {"TOKEN": TOKEN}}, "environment.TOKEN of Command"),
    ],
)
def test_a_bootstrap_token_anywhere_in_a_command_is_reported_without_repeating_it(props, expected):
    messages = check(CREDENTIALS, COMMAND, props)
    assert any(expected in m for m in messages)
    assert not any(TOKEN in m for m in messages)


@pytest.mark.parametrize(
    ("kind_name", "field", "value", "expected"),
    [
        ("InitConfiguration", "bootstrapTokens", [{"token": "@T@"}, {"token": "x"}], "bootstrapTokens[].token"),
        ("InitConfiguration", "certificateKey", "f" * 64, "certificateKey"),
    ],
)
def test_credentials_in_the_init_config_are_reported(kind_name, field, value, expected):
    (message,) = check(
        CREDENTIALS, COMMAND, with_documents(INIT, lambda d: kind(d, kind_name).__setitem__(field, value))
    )
    assert f"the {kind_name} in the stdin of 'subject' sets {expected}" in message


def test_tls_bootstrap_token_in_a_join_config_is_reported():
    def edit(docs):
        docs[0]["discovery"]["tlsBootstrapToken"] = "secret"

    (message,) = check(CREDENTIALS, COMMAND, with_documents(JOIN, edit))
    assert "discovery.tlsBootstrapToken" in message


CERTIFICATE_KEY = "5e" * 32
CONTROL_PLANE_JOIN_CONFIG = yaml.safe_dump(
    {
        **yaml.safe_load(JOIN_CONFIG),
        "controlPlane": {
            "localAPIEndpoint": {"advertiseAddress": "10.30.0.3", "bindPort": 6443},
            "certificateKey": "@KINDLING_CERTIFICATE_KEY@",
        },
    },
    sort_keys=False,
)
CONTROL_PLANE_JOIN = {
    "create": "/bin/sh -c '...' kubeadm-join-control-plane.sh c-control-plane c-control-plane-2",
    "stdin": CONTROL_PLANE_JOIN_CONFIG,
}


def test_a_control_plane_join_with_a_placeholder_certificate_key_passes():
    assert check(CREDENTIALS, COMMAND, CONTROL_PLANE_JOIN) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (
            {**CONTROL_PLANE_JOIN, "stdin": CONTROL_PLANE_JOIN_CONFIG.replace("'@KINDLING_CERTIFICATE_KEY@'", "k")},
            "sets controlPlane.certificateKey",
        ),
        (
            {**CONTROL_PLANE_JOIN, "create": f"kubeadm join --control-plane --certificate-key {CERTIFICATE_KEY}"},
            "create of Command 'subject' contains a kubeadm certificate key",
        ),
        (
            {
                **SYSTEMD,
                "environment": {"KINDLING_SCRIPT": f"kubeadm init --upload-certs --certificate-key={CERTIFICATE_KEY}"},
            },
            "environment.KINDLING_SCRIPT of Command 'subject' contains a kubeadm certificate key",
        ),
        (
            {**SYSTEMD, "environment": {"CONFIG": f'{{"certificateKey": "{CERTIFICATE_KEY}"}}'}},
            "environment.CONFIG of Command 'subject' contains a kubeadm certificate key",
        ),
    ],
)
def test_a_certificate_key_given_to_a_command_is_reported_without_repeating_it(props, expected):
    messages = check(CREDENTIALS, COMMAND, props)
    assert any(expected in m for m in messages), messages
    assert not any(CERTIFICATE_KEY in m for m in messages)


def test_a_digest_is_not_a_certificate_key():
    props = {**SYSTEMD, "environment": {"MANIFEST": f"kubeadm sha256:{CERTIFICATE_KEY}\n{CERTIFICATE_KEY}  kubelet"}}
    assert check(CREDENTIALS, COMMAND, props) == []


def test_credentials_skip_unknown_inputs():
    assert check(CREDENTIALS, COMMAND, {"create": UNKNOWN, "stdin": UNKNOWN}) == []


# --- helm-chart-pinned / node-image-pinned -----------------------------------------------------------------

CHART = "helm-chart-pinned"
IMAGE = "node-image-pinned"
CALICO = {
    "name": "calico",
    "chart": "https://github.com/projectcalico/calico/releases/download/v3.28.5/tigera-operator-v3.28.5.tgz",
    "version": "v3.28.5",
    "namespace": "tigera-operator",
    "values": {"installation": {"calicoNetwork": {"ipPools": [{"cidr": "10.244.0.0/16"}]}}},
}


@pytest.mark.parametrize("version", ["4.0.1", "v3.18.6-1", "1.2.3+build.7"])
def test_pinned_chart_passes(version):
    assert check(CHART, RELEASE, {**CALICO, "version": version}) == []


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        (DELETE, "no version"),
        ("", "no version"),
        ("latest", "version 'latest'"),
        ("^4.0.0", "version '^4.0.0'"),
        ("4.0", "version '4.0'"),
        (">=1.0.0", "version '>=1.0.0'"),
        ("4.x", "version '4.x'"),
    ],
)
def test_unpinned_chart_is_reported(version, shown):
    (message,) = check(CHART, RELEASE, changed(CALICO, "version", version))
    assert f"has {shown}" in message and "Pin one exact chart version" in message


def test_chart_pinning_skips_unknowns_and_other_resources():
    assert check(CHART, RELEASE, changed(CALICO, "version", UNKNOWN)) == []
    assert check(CHART, K8S_PROVIDER, {"version": "latest"}) == []


@pytest.mark.parametrize(
    ("type_", "key", "reference"),
    [
        (REMOTE_IMAGE, "name", "kindling/c:v1.30.0-0123456789ab"),
        (REMOTE_IMAGE, "name", "ctr_kubernetes-v1.19.1-base:v0.1"),
        (REMOTE_IMAGE, "name", "localhost:5000/node:1.0"),
        (REMOTE_IMAGE, "name", "ubuntu@sha256:" + "0" * 64),
        (CONTAINER, "image", "sha256:" + "0" * 64),
        (CONTAINER, "image", "registry:2.8.3"),
    ],
)
def test_pinned_image_passes(type_, key, reference):
    assert check(IMAGE, type_, {key: reference}) == []


@pytest.mark.parametrize(
    ("type_", "key", "reference", "expected"),
    [
        (REMOTE_IMAGE, "name", "kindling/c", "has no tag"),
        (REMOTE_IMAGE, "name", "kindling/c:latest", "latest tag"),
        (REMOTE_IMAGE, "name", "localhost:5000/node", "has no tag"),
        (REMOTE_IMAGE, "name", "ubuntu@sha256:abc", "malformed digest"),
        (CONTAINER, "image", "nginx", "has no tag"),
    ],
)
def test_unpinned_image_is_reported(type_, key, reference, expected):
    (message,) = check(IMAGE, type_, {key: reference})
    assert expected in message


def test_image_pinning_skips_unknowns_and_other_resources():
    assert check(IMAGE, REMOTE_IMAGE, {"name": UNKNOWN}) == []
    assert check(IMAGE, CONTAINER, {**NODE, "image": UNKNOWN}) == []
    assert check(IMAGE, COMMAND, {"create": "docker pull nginx"}) == []


# --- node-restarts-on-failure ---------------------------------------------------------------------------

RESTART = "node-restarts-on-failure"


@pytest.mark.parametrize("restart", ["on-failure", "always", "unless-stopped", UNKNOWN])
def test_restarting_node_passes(restart):
    assert check(RESTART, CONTAINER, {**NODE, "restart": restart}) == []


@pytest.mark.parametrize(("restart", "shown"), [(DELETE, "no (the default)"), ("no", "no")])
def test_node_that_stays_down_is_reported(restart, shown):
    (message,) = check(RESTART, CONTAINER, changed(NODE, "restart", restart))
    assert f"restart {shown!r}" in message


def test_restart_ignores_containers_that_are_not_nodes():
    assert check(RESTART, CONTAINER, PLAIN_CONTAINER) == []


# --- stack policies --------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("name", [MATCHES, SKEW, NETWORKS])
def test_stack_policies_pass_a_consistent_cluster(name):
    assert check_stack(name, cluster()) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("build.buildArgs.KUBERNETES_VERSION", "1.29.0", "KUBERNETES_VERSION '1.29.0'"),
        (
            "build.buildArgs.KINDLING_ARTIFACTS",
            MANIFEST_1_30.replace("v1.30.0/bin/linux/{arch}/kubelet", "v1.30.1/bin/linux/{arch}/kubelet"),
            "kubelet v1.30.1",
        ),
        ("build.buildArgs.CGROUP_DRIVER", "cgroupfs", "its kubelet uses the systemd driver"),
        ("build.buildArgs.PAUSE_IMAGE", "registry.k8s.io/pause:3.8", "kubeadm pre-pulls registry.k8s.io/pause:3.9"),
    ],
)
def test_node_image_built_for_something_else_is_reported(path, value, expected):
    (message,) = check_stack(MATCHES, cluster(node_image=changed(NODE_IMAGE, path, value)))
    assert expected in message and "deploys Kubernetes v1.30.0" in message


def test_kubelet_cgroup_driver_default_is_kubeadms():
    without = with_documents(INIT, lambda d: kind(d, "KubeletConfiguration").pop("cgroupDriver"))
    assert check_stack(MATCHES, cluster(kubeadm_init=without)) == []  # kubeadm >= 1.22 defaults to systemd
    image = changed(NODE_IMAGE, "build.buildArgs.CGROUP_DRIVER", "cgroupfs")
    assert len(check_stack(MATCHES, cluster(kubeadm_init=without, node_image=image))) == 1


def test_prebuilt_node_image_is_not_checked():
    assert check_stack(MATCHES, cluster(node_image={"name": "ctr_kubernetes-v1.30.0-base:v0.1"})) == []


def test_node_image_match_skips_what_a_preview_does_not_know():
    assert check_stack(MATCHES, cluster(kubeadm_init=changed(INIT, "stdin", UNKNOWN))) == []
    image = changed(
        changed(NODE_IMAGE, "build.buildArgs.KUBERNETES_VERSION", UNKNOWN), "build.buildArgs.CGROUP_DRIVER", "x"
    )
    assert len(check_stack(MATCHES, cluster(node_image=image))) == 1


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        ("v1.7.15/containerd-1.7.15", "v1.6.21/containerd-1.6.21", "containerd 1.6.21"),
        ("v1.1.12/runc", "v1.2.0/runc", "runc 1.2.0"),
        ("helm-v3.15.0-linux", "helm-v4.0.4-linux", "helm 4.0.4"),
        ("v1.29.0/crictl-v1.29.0", "v1.30.0/crictl-v1.30.0", "crictl 1.30.0"),
        ("v1.4.1/cni-plugins-linux-{arch}-v1.4.1", "v1.5.1/cni-plugins-linux-{arch}-v1.5.1", "cniPlugins 1.5.1"),
    ],
)
def test_image_component_off_the_catalogs_line_is_reported(line, replacement, expected):
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace(line, replacement))
    ((message, urn),) = _run_stack_with_urns(SKEW, cluster(node_image=image))
    assert message.startswith(expected) and "Kubernetes 1.30.0" in message and urn.endswith("::node-image")


def test_component_patch_updates_are_within_the_skew():
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace("1.7.15", "1.7.27"))
    assert check_stack(SKEW, cluster(node_image=image)) == []


def test_cni_chart_off_the_catalogs_line_is_reported():
    ((message, urn),) = _run_stack_with_urns(SKEW, cluster(calico={**CALICO, "version": "v3.30.0"}))
    assert message.startswith("calico v3.30.0 ('calico')") and "is v3.28.5" in message and urn.endswith("::calico")


def test_flannel_chart_is_compared_to_the_catalogs_flannel():
    flannel = {
        "name": "flannel",
        "chart": "/dl/v0.26.7/flannel.tgz",
        "version": "v0.26.7",
        "values": {"podCidr": "10.244.0.0/16"},
    }
    assert check_stack(SKEW, cluster(calico=flannel)) == []
    assert "flannel v0.25.1" in check_stack(SKEW, cluster(calico={**flannel, "version": "v0.25.1"}))[0]


def test_release_outside_the_catalog_uses_the_row_of_its_minor():
    init = with_documents(INIT, lambda d: kind(d, "ClusterConfiguration").__setitem__("kubernetesVersion", "v1.30.7"))
    assert check_stack(SKEW, cluster(kubeadm_init=init)) == []
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace("1.7.15", "2.0.0"))
    (message,) = check_stack(SKEW, cluster(kubeadm_init=init, node_image=image))
    assert "Kubernetes 1.30.7" in message and "for Kubernetes 1.30.0 is 1.7.15" in message


def test_minor_outside_the_catalog_is_not_checked():
    init = with_documents(INIT, lambda d: kind(d, "ClusterConfiguration").__setitem__("kubernetesVersion", "v1.36.0"))
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace("1.7.15", "2.2.0"))
    assert check_stack(SKEW, cluster(kubeadm_init=init, node_image=image)) == []


def test_skew_skips_what_a_preview_does_not_know():
    assert check_stack(SKEW, cluster(kubeadm_init=changed(INIT, "stdin", UNKNOWN))) == []
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", UNKNOWN)
    assert check_stack(SKEW, cluster(node_image=image, calico=changed(CALICO, "version", UNKNOWN))) == []


def _run_stack_with_urns(name, resources):
    return run_with_urns(BY_NAME[name], stack_args(resources))


@pytest.mark.parametrize(
    ("key", "value", "other"),
    [
        ("podSubnet", "10.30.0.0/16", "Docker network 'network'"),
        ("serviceSubnet", "10.244.128.0/20", "ClusterConfiguration networking.podSubnet"),
        ("podSubnet", "10.96.0.0/16,fd00::/48", "ClusterConfiguration networking.serviceSubnet"),
    ],
)
def test_overlapping_subnets_are_reported(key, value, other):
    def edit(docs):
        kind(docs, "ClusterConfiguration")["networking"][key] = value

    messages = check_stack(NETWORKS, cluster(kubeadm_init=with_documents(INIT, edit)))
    assert any("overlaps" in m and other in m for m in messages)


def test_calico_pool_outside_the_pod_subnet_is_reported():
    calico = changed(CALICO, "values.installation.calicoNetwork.ipPools.0.cidr", "192.168.0.0/16")
    (message,) = check_stack(NETWORKS, cluster(calico=calico))
    assert "the calico release 'calico' gives pods 192.168.0.0/16" in message


def test_flannel_pod_cidr_must_be_the_pod_subnet():
    flannel = {
        "name": "flannel",
        "chart": "/dl/v0.26.7/flannel.tgz",
        "version": "v0.26.7",
        "values": {"podCidr": "10.244.0.0/16"},
    }
    assert check_stack(NETWORKS, cluster(calico=flannel)) == []
    (message,) = check_stack(NETWORKS, cluster(calico=changed(flannel, "values.podCidr", "10.244.0.0/24")))
    assert "the flannel release 'calico' gives pods 10.244.0.0/24" in message


def test_networks_skip_what_a_preview_does_not_know():
    calico = changed(CALICO, "values.installation.calicoNetwork.ipPools.0.cidr", UNKNOWN)
    network = changed(DOCKER_NETWORK, "ipamConfigs", UNKNOWN)
    assert check_stack(NETWORKS, cluster(calico=calico, network=network)) == []
    assert check_stack(NETWORKS, cluster(kubeadm_init=changed(INIT, "stdin", UNKNOWN))) == []


# --- cluster-provider-explicit-kubeconfig ------------------------------------------------------------------

EXPLICIT = "cluster-provider-explicit-kubeconfig"


def test_provider_with_the_clusters_kubeconfig_passes():
    assert check(EXPLICIT, K8S_PROVIDER, {"kubeconfig": "apiVersion: v1\nkind: Config\n"}) == []
    assert check(EXPLICIT, K8S_PROVIDER, {"kubeconfig": UNKNOWN}) == []  # a first preview
    assert check(EXPLICIT, K8S_PROVIDER, {"renderYamlToDirectory": "out"}) == []  # talks to no cluster


@pytest.mark.parametrize("props", [{}, {"kubeconfig": ""}, {"context": "prod"}])
def test_provider_falling_back_to_the_users_kubeconfig_is_reported(props):
    (message,) = check(EXPLICIT, K8S_PROVIDER, props)
    assert "~/.kube/config" in message


def test_only_kubernetes_providers_are_checked():
    assert check(EXPLICIT, RELEASE, {"chart": "x", "version": "1.0.0"}) == []
    assert check(EXPLICIT, CONTAINER, NODE) == []


# --- every resource policy ignores resources it does not govern ------------------------------------------


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
@pytest.mark.parametrize(
    ("type_", "props"),
    [
        (NETWORK, DOCKER_NETWORK),
        (K8S_PROVIDER, {"kubeconfig": "apiVersion: v1"}),
        ("random:index/randomId:RandomId", {}),
    ],
)
def test_resource_policies_ignore_unrelated_resources(policy, type_, props):
    assert run(policy, resource_args(type_, props)) == []


# --- any value unknown during a preview: no crash, no violation ---------------------------------------------


def paths(value: Any, prefix: str = "") -> list[str]:
    """Every dotted path into ``value``: each key and list item, containers as well as leaves."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        found += [path, *paths(item, path)]
    return found


GOOD_RESOURCES = [
    (CONTAINER, NODE, {}),
    (CONTAINER, WORKER, {}),
    (CONTAINER, CAPABILITIES_NODE, {}),
    (CONTAINER, PLAIN_CONTAINER, {}),
    (COMMAND, INIT, AT_INIT),
    (COMMAND, JOIN, {}),
    (COMMAND, KUBECONFIG, {"additional_secret_outputs": ["stdout"], **AT_KUBECONFIG}),
    (RELEASE, CALICO, {}),
    (REMOTE_IMAGE, NODE_IMAGE, {}),
]


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_resource_policies_neither_crash_nor_report_on_any_unknown(policy):
    for type_, props, kwargs in GOOD_RESOURCES:
        for path in paths(props):
            reported = run(policy, resource_args(type_, changed(props, path, UNKNOWN), **kwargs))
            assert reported == [], (type_, path, reported)


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if not isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_stack_policies_neither_crash_nor_report_on_any_unknown(policy):
    for type_, name, props, *_ in cluster():
        for path in paths(props):
            resources = [(t, n, changed(p, path, UNKNOWN) if n == name else p, *rest) for t, n, p, *rest in cluster()]
            reported = run(policy, stack_args(resources))
            assert reported == [], (type_, path, reported)


BAD_RESOURCES = [
    (CONTAINER, changed(changed(NODE, "ports.0.ip", "0.0.0.0"), "mounts.0.readOnly", False)),
    (CONTAINER, {**PLAIN_CONTAINER, "privileged": True, "ports": [{"internal": 22}], "networkMode": "host"}),
    (COMMAND, with_documents(INIT, lambda d: kind(d, "KubeProxyConfiguration").pop("conntrack"))),
    (COMMAND, {**JOIN, "create": f"kubeadm join --token {TOKEN}"}),
    (COMMAND, {k: v for k, v in KUBECONFIG.items() if k != "logging"}),
    (RELEASE, {**CALICO, "version": "latest"}),
    (REMOTE_IMAGE, {**NODE_IMAGE, "name": "kindling/c"}),
]


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_resource_policies_do_not_crash_on_unknowns_in_bad_resources(policy):
    for type_, props in BAD_RESOURCES:
        for path in paths(props):
            run(policy, resource_args(type_, changed(props, path, UNKNOWN)))
