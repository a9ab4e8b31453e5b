"""The node policies (policies/nodes.py): /lib/modules read-only, API server and published ports on loopback,
privileges only on nodes, nodes that restart.
"""

from __future__ import annotations

import pytest

from tests.policy_args import UNKNOWN
from tests.policy_fixtures import (
    CAPABILITIES_NODE,
    COMMAND,
    CONTAINER,
    DELETE,
    LOAD_BALANCER,
    NETWORK,
    NODE,
    PLAIN_CONTAINER,
    WORKER,
    changed,
    check,
    labelled,
)

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
