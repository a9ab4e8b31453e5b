"""kindling:nodeRuntime nspawn under mocks: what every catalog stack registers when its nodes are
systemd-nspawn machines, and that the kubeadm steps are the Docker nodes' own, reaching machines."""

from __future__ import annotations

import ipaddress
from functools import cache

import pytest
import yaml

from components.machine_network import RULES
from components.shell import LIBRARY_VARIABLE, NODE_LIBRARY_VARIABLE, SCRIPT_VARIABLE, SCRIPTS
from kindling import contract
from kindling.config import SpecError
from kindling.machines import CONNTRACK_HASHSIZE_LEAST, REQUIRED_SYSCTLS, MachineHost, machine_host_problems
from policies import shapes
from tests.pulumi_harness import FREE_PORT, READY_MACHINE_HOST, Deployment, Registration, run_program
from tests.support import stack_config, stack_names

MACHINE = "kindling:index:NodeMachine"


@cache
def deployed(stack: str, workers: str = "1") -> Deployment:
    return run_program(stack, {**stack_config(stack), "nodeRuntime": "nspawn", "workers": workers})


def deployment_ip(stack: str, index: int) -> str:
    """Node ``index``'s address on the release's automatic subnet (10.<minor>.<patch>.0/24)."""
    _, minor, patch = stack.removeprefix("k8s-").split("-")
    return f"10.{minor}.{patch}.{2 + index}"


def commands_of(deployment: Deployment, component: str) -> dict[str, Registration]:
    """The Commands of NodeMachine ``component`` by step (``control-plane-rootfs`` -> ``rootfs``)."""
    return {
        r.name.removeprefix(f"{component}-"): r
        for r in deployment.registrations
        if r.type == shapes.COMMAND and shapes.component_type(r.urn) == MACHINE and r.name.startswith(f"{component}-")
    }


def assert_reads_iptables_rules(step: Registration) -> None:
    for action in ("create", "delete"):
        assert step.inputs[action].startswith(f'/bin/sh -c "${LIBRARY_VARIABLE}${SCRIPT_VARIABLE}" ')
    assert step.inputs["environment"][LIBRARY_VARIABLE] == (SCRIPTS / RULES).read_text()


@pytest.mark.parametrize("stack", stack_names())
def test_nodes_are_machines_and_no_docker_container_or_network_is_made(stack):
    deployment = deployed(stack)
    assert deployment.of_type(shapes.CONTAINER) == []
    assert deployment.of_type(shapes.NETWORK) == []
    assert sorted(r.name for r in deployment.of_type(MACHINE)) == ["control-plane", "worker-1"]
    # The node image is still built on the engine: the machines' root filesystems come from it.
    assert len(deployment.of_type("kindling:index:NodeImage")) == 1
    # The bridge is named after the cluster (at most 15 characters), on the release's automatic subnet.
    _, minor, patch = stack.removeprefix("k8s-").split("-")
    subnet = f"10.{minor}.{patch}.0/24"
    bridge = deployment.named("network-bridge")
    assert bridge.inputs["create"].endswith(f"machine-network.sh create {stack} 10.{minor}.{patch}.1/24 {subnet}")
    assert bridge.inputs["delete"].endswith(f"machine-network.sh delete {stack} {subnet}")
    # Create and delete read the shared iptables functions first (iptables-rules.sh).
    assert_reads_iptables_rules(bridge)


@pytest.mark.parametrize("stack", stack_names())
def test_each_machine_is_made_of_a_root_filesystem_a_namespace_and_the_machine_each_undone_on_delete(stack):
    deployment = deployed(stack)
    for component, node in (("control-plane", f"{stack}-control-plane"), ("worker-1", f"{stack}-worker-1")):
        steps = commands_of(deployment, component)
        assert {"rootfs", "network-namespace", "machine", "systemd"} <= set(steps)
        rootfs = f"/var/lib/kindling/machines/{stack}/{node}"
        assert steps["rootfs"].inputs["create"].endswith(f" {rootfs}")
        assert steps["rootfs"].inputs["delete"].endswith(f"machine-rootfs.sh delete {rootfs}")
        assert (
            steps["network-namespace"]
            .inputs["delete"]
            .startswith('/bin/sh -c "$KINDLING_SCRIPT" machine-namespace.sh delete')
        )
        assert steps["machine"].inputs["create"].endswith(f"machine.sh create {node} {rootfs} {node}")
        assert steps["machine"].inputs["delete"].endswith(f"machine.sh delete {node}")
        # The Docker nodes' wait for systemd, told it waits for a machine (its logs are the machine's own).
        assert steps["systemd"].inputs["create"].endswith(f"wait-for-systemd.sh machine {node} 180")
        # Each path and name is taken until the old one is gone.
        assert all(steps[step].delete_before_replace for step in ("rootfs", "network-namespace", "machine"))
        options = steps["machine"].inputs["environment"][contract.NSPAWN_OPTIONS_VARIABLE].splitlines()
        assert "--bind-ro=/lib/modules" in options
        assert "--drop-capability=CAP_SYS_RESOURCE" in options
        (capabilities,) = [o for o in options if o.startswith("--capability=")]
        assert "CAP_SYS_ADMIN" in capabilities and "CAP_SYS_RESOURCE" not in capabilities
        assert "--private-users=no" in options
        # No Docker DNS between machines: every one finds the control plane by name, as kubeadm join does.
        hosts = steps["machine"].inputs["environment"][contract.MACHINE_HOSTS_VARIABLE]
        assert hosts == f"{deployment_ip(stack, 0)} {stack}-control-plane"


def test_only_the_control_plane_publishes_its_api_server_on_loopback_at_the_claimed_port():
    deployment = deployed("k8s-1-19-1")
    publishing = commands_of(deployment, "control-plane")["api-server"]
    assert publishing.inputs["environment"][contract.PUBLISH_ADDRESS_VARIABLE] == "127.0.0.1"
    assert publishing.inputs["environment"][contract.PUBLISH_PORT_VARIABLE] == str(FREE_PORT)
    assert publishing.inputs["create"].endswith("publish-api-server.sh create k8s-1-19-1 10.19.1.2")
    assert publishing.inputs["delete"].endswith("publish-api-server.sh delete k8s-1-19-1 10.19.1.2")
    assert_reads_iptables_rules(publishing)
    assert "api-server" not in commands_of(deployment, "worker-1")


@pytest.mark.parametrize("stack", stack_names())
def test_kubeadm_runs_its_own_scripts_inside_the_machines(stack):
    deployment = deployed(stack)
    init = deployment.named("kubeadm-init")
    assert init.inputs["create"].startswith(
        f'/bin/sh -c "$KINDLING_MACHINE_EXEC"\'docker exec -i "$@"\' machine-exec {stack}-control-plane '
        '/bin/sh -c "$KINDLING_SCRIPT_LIBRARY$KINDLING_SCRIPT" kubeadm-init.sh'
    )
    assert init.inputs["environment"][LIBRARY_VARIABLE] == (SCRIPTS / "pod-containers.sh").read_text()
    assert yaml.safe_load_all(init.inputs["stdin"])  # the rendered configuration, as for Docker nodes
    assert init.inputs["environment"]["KINDLING_MACHINES_DIR"] == f"/var/lib/kindling/machines/{stack}"
    join = deployment.named("worker-1-join")
    joined = (
        f'/bin/sh -c "$KINDLING_MACHINE_EXEC$KINDLING_SCRIPT" kubeadm-join.sh {stack}-control-plane {stack}-worker-1 '
    )
    assert join.inputs["create"].startswith(joined)
    assert join.inputs["environment"][NODE_LIBRARY_VARIABLE] == (SCRIPTS / "pod-containers.sh").read_text()
    ipaddress.ip_network(join.inputs["create"].removeprefix(joined))  # the service subnet, as for Docker nodes
    # A new machine is joined again, as a new container is: the machine's id is the join's first trigger.
    assert join.inputs["triggers"][0] == commands_of(deployment, "worker-1")["machine"].id


@pytest.mark.parametrize("stack", stack_names())
def test_the_kubeconfig_is_a_secret_pointing_at_the_published_port(stack):
    deployment = deployed(stack)
    assert deployment.named("kubeadm-admin-kubeconfig").additional_secret_outputs == ["stdout"]
    kubeconfig, secret = deployment.output("kubeconfig")
    assert secret
    assert yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{FREE_PORT}"


def test_docker_stacks_register_no_machine():
    deployment = run_program("k8s-1-19-1", {**stack_config("k8s-1-19-1"), "workers": "1"})
    assert deployment.of_type(MACHINE) == []
    assert len(deployment.of_type(shapes.CONTAINER)) == 2


# --- what is refused, before anything is registered ----------------------------------------------


def refused(overrides: dict[str, str], machine_host: MachineHost = READY_MACHINE_HOST) -> list[str]:
    registered: list[Registration] = []
    with pytest.raises(SpecError) as refusal:
        run_program(
            "k8s-1-19-1", {**stack_config("k8s-1-19-1"), **overrides}, machine_host=machine_host, registered=registered
        )
    assert registered == []
    return refusal.value.problems


def test_an_unknown_runtime_is_refused_naming_the_key_and_the_choices():
    (problem,) = refused({"nodeRuntime": "podman"})
    assert problem.startswith("kindling:nodeRuntime: got 'podman'")
    assert "'docker'" in problem and "'nspawn'" in problem


@pytest.mark.parametrize(
    ("key", "value"),
    [("controlPlanes", "3"), ("images", '["app:dev"]')],
)
def test_what_machines_cannot_do_yet_is_refused_naming_the_key(key, value):
    (problem,) = refused({"nodeRuntime": "nspawn", key: value})
    assert problem.startswith(f"kindling:{key}: not available with kindling:nodeRuntime nspawn yet")


@pytest.mark.parametrize("sysctl", sorted(REQUIRED_SYSCTLS))
def test_each_host_setting_missing_stops_up_naming_it_and_the_command_that_sets_it(sysctl):
    least = REQUIRED_SYSCTLS[sysctl][0]
    lacking = MachineHost(
        nspawn=READY_MACHINE_HOST.nspawn,
        sysctls=tuple((name, 0 if name == sysctl else value) for name, value in READY_MACHINE_HOST.sysctls),
        conntrack_hashsize=READY_MACHINE_HOST.conntrack_hashsize,
    )
    (problem,) = refused({"nodeRuntime": "nspawn"}, lacking)
    assert f"{sysctl} at least {least}" in problem
    assert problem.endswith(f"it is 0: sysctl -w {sysctl}={least}")


def test_a_host_without_systemd_nspawn_or_conntrack_hashsize_is_told_what_to_install_and_set():
    problems = machine_host_problems(
        MachineHost(nspawn=None, sysctls=READY_MACHINE_HOST.sysctls, conntrack_hashsize=16384)
    )
    assert problems == [
        "kindling:nodeRuntime: nspawn needs systemd-nspawn, which is not installed; install it "
        "(Debian/Ubuntu: apt-get install systemd-container)",
        f"kindling:nodeRuntime: nspawn needs nf_conntrack's hashsize at least {CONNTRACK_HASHSIZE_LEAST} (kube-proxy "
        f"cannot size it from a machine), it is 16384: echo {CONNTRACK_HASHSIZE_LEAST} > "
        "/sys/module/nf_conntrack/parameters/hashsize",
    ]


def test_a_docker_stack_never_asks_about_machines():
    lacking = MachineHost(nspawn=None, sysctls=(), conntrack_hashsize=None)
    deployment = run_program("k8s-1-19-1", stack_config("k8s-1-19-1"), machine_host=lacking)
    assert deployment.of_type(shapes.CONTAINER)
