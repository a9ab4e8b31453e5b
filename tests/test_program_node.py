"""The real program under Pulumi's mocks: the node container."""

import pytest

from kindling.host import DockerHost
from tests.program_fixtures import (
    COMMAND,
    CONTAINER,
    REFERENCE,
    control_plane,
    depends_on,
    deployed,
    deployed_with,
    init_command,
    labels,
    mount,
)
from tests.pulumi_harness import FREE_PORT
from tests.support import stack_names

# --- the node container -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_names())
def test_node_container_runs_like_a_kind_node(stack):
    node = control_plane(deployed(stack))
    inputs = node.inputs
    name = f"{stack}-control-plane"
    assert inputs["name"] == inputs["hostname"] == name
    assert inputs["privileged"] is True
    assert mount(node, "/lib/modules") == {
        "type": "bind",
        "source": "/lib/modules",
        "target": "/lib/modules",
        "readOnly": True,
    }
    assert inputs["tmpfs"] == {"/run": "", "/tmp": ""}
    assert inputs["volumes"] == [{"containerPath": "/var"}]
    # label=disable: Docker adds it to a privileged container; sending it keeps a refresh from replacing the node.
    assert inputs["securityOpts"] == ["seccomp=unconfined", "apparmor=unconfined", "label=disable"]
    assert labels(node)["kindling.cluster"] == stack
    assert labels(node)["kindling.role"] == "control-plane"
    assert inputs["restart"] == "on-failure"
    assert inputs["ports"] == [{"internal": 6443, "ip": "127.0.0.1", "external": FREE_PORT, "protocol": "tcp"}]
    assert inputs["init"] is False and inputs["tty"] is True
    assert inputs["cgroupnsMode"] == "private"


def test_node_gets_its_fixed_address_on_the_cluster_network():
    deployment = deployed(REFERENCE)
    (network,) = deployment.of_type("docker:index/network:Network")
    assert network.inputs["ipamConfigs"] == [{"subnet": "10.19.1.0/24", "gateway": "10.19.1.1"}]
    node = control_plane(deployment)
    assert node.inputs["networksAdvanced"] == [{"name": REFERENCE, "ipv4Address": "10.19.1.2"}]


def test_a_given_api_server_port_is_published_as_given():
    node = control_plane(deployed_with(REFERENCE, {"apiServerPort": "16443"}))
    assert node.inputs["ports"] == [{"internal": 6443, "ip": "127.0.0.1", "external": 16443, "protocol": "tcp"}]


def test_node_waits_for_systemd_before_anything_is_exec_d():
    deployment = deployed(REFERENCE)
    (booted,) = [c for c in deployment.of_type(COMMAND) if "wait-for-systemd.sh" in c.inputs["create"]]
    assert booted.inputs["create"].endswith(f"wait-for-systemd.sh container {REFERENCE}-control-plane 180")
    assert depends_on(deployment, booted, control_plane(deployment))
    assert depends_on(deployment, init_command(deployment), booted)


def test_capabilities_mode_names_capabilities_instead_of_privileged():
    node = control_plane(deployed_with(REFERENCE, {"nodeSecurity": "capabilities"}))
    inputs = node.inputs
    assert not inputs.get("privileged")
    adds = inputs["capabilities"]["adds"]
    assert {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE", "CAP_SYS_CHROOT"} <= set(
        adds
    )
    assert "CAP_SYS_RESOURCE" not in adds and "ALL" not in adds
    assert inputs["securityOpts"] == ["seccomp=unconfined", "apparmor=unconfined"]
    assert inputs["cgroupnsMode"] == "private"
    assert mount(node, "/lib/modules")["readOnly"] is True


@pytest.mark.parametrize("security", ["privileged", "capabilities"])
def test_no_node_ever_binds_the_host_cgroup_tree(security):
    # A node's systemd would rewrite the host's cgroup mounts through such a bind.
    deployment = deployed_with(REFERENCE, {"nodeSecurity": security, "workers": "1"})
    for node in deployment.of_type(CONTAINER):
        assert all(not m["target"].startswith("/sys/fs/cgroup") for m in node.inputs.get("mounts", []))


def test_the_api_server_port_is_claimed_once_and_kept():
    deployment = deployed(REFERENCE)
    (claim,) = [c for c in deployment.of_type(COMMAND) if "free-port.sh" in c.inputs["create"]]
    assert "triggers" not in claim.inputs, "re-running the claim would move the API server to another port"
    assert claim.inputs["create"].endswith("127.0.0.1")
    fixed = deployed_with(REFERENCE, {"apiServerPort": "16443"})
    assert not [c for c in fixed.of_type(COMMAND) if "free-port.sh" in c.inputs["create"]]


def test_capabilities_mode_on_cgroup_v2_warns_about_devices():
    host = DockerHost(cgroup_version=2, architecture="x86_64", has_lib_modules=True)
    deployment = deployed_with(REFERENCE, {"nodeSecurity": "capabilities"}, docker_host=host)
    assert any("default devices" in warning for warning in deployment.warnings)
    assert not deployed_with(REFERENCE, {"nodeSecurity": "capabilities"}).warnings


def test_host_without_lib_modules_gets_no_mount_and_a_warning():
    host = DockerHost(cgroup_version=1, architecture="x86_64", has_lib_modules=False)
    deployment = deployed_with(REFERENCE, {}, docker_host=host)
    node = control_plane(deployment)
    assert mount(node, "/lib/modules") is None
    assert labels(node)["kindling.host-lib-modules"] == "absent-on-host"
    assert any("/lib/modules" in warning for warning in deployment.warnings)


@pytest.mark.parametrize("recorded, now", [(False, True), (True, False)])
def test_lib_modules_stays_as_the_cluster_was_created_when_the_host_changes(recorded, now):
    # A kernel package installed on the host later must not replace the nodes of a running cluster.
    host = DockerHost(cgroup_version=1, architecture="x86_64", has_lib_modules=now, recorded_lib_modules=recorded)
    deployment = deployed_with(REFERENCE, {"workers": "1"}, docker_host=host)
    for node in deployment.of_type(CONTAINER):
        assert (mount(node, "/lib/modules") is not None) == recorded
        assert labels(node)["kindling.host-lib-modules"] == ("mounted" if recorded else "absent-on-host")
    (warning,) = [w for w in deployment.warnings if "/lib/modules" in w]
    assert "keep it" in warning and "destroy" in warning
