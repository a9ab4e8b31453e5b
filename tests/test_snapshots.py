"""Stacks started from a snapshot (kindling:snapshot), under Pulumi's mocks: what they register, what they
refuse before registering anything, and that the policies pass on them and catch a credential in an input."""

from __future__ import annotations

import shlex

import pytest

from kindling import contract
from kindling import snapshots as kindling_snapshots
from kindling.snapshots import Snapshot, SnapshotNode
from policies import shapes
from policies.kindling_policies import POLICIES
from tests.drills import restore_kills
from tests.policy_args import evaluate, mandatory, replaced
from tests.pulumi_harness import run_program
from tests.support import stack_config

SNAPSHOT = Snapshot(
    name="snap-demo",
    release="1.19.1",
    cluster="snap-src",
    created="2026-12-03T21:22:54Z",
    pod_subnet="10.244.0.0/16",
    service_subnet="10.96.0.0/12",
    cni="flannel",
    kube_proxy_mode="iptables",
    nodes=(
        SnapshotNode("control-plane", "snap-src-control-plane", "10.255.0.2", "sha256:" + "a" * 64, "v-0"),
        SnapshotNode("worker", "snap-src-worker-1", "10.255.0.3", "sha256:" + "b" * 64, "v-1"),
    ),
)
OLDER = Snapshot(**{**SNAPSHOT.__dict__, "name": "snap-old", "release": "1.34.0"})


@pytest.fixture(autouse=True)
def snapshots_on_the_engine(monkeypatch):
    monkeypatch.setattr(kindling_snapshots, "list_snapshots", lambda: {"snap-demo": SNAPSHOT, "snap-old": OLDER})


def restored(**overrides: str):
    return run_program("snap-r1", {**stack_config("k8s-1-19-1"), "workers": "1", "snapshot": "snap-demo", **overrides})


def test_a_restored_stack_runs_the_snapshots_images_on_copies_of_its_volumes():
    deployment = restored()
    containers = {r.inputs["name"]: r for r in deployment.of_type(shapes.CONTAINER)}
    assert set(containers) == {"snap-r1-control-plane", "snap-r1-worker-1"}
    assert containers["snap-r1-control-plane"].inputs["image"] == SNAPSHOT.nodes[0].image
    assert containers["snap-r1-worker-1"].inputs["image"] == SNAPSHOT.nodes[1].image
    for name, container in containers.items():
        assert container.inputs["volumes"] == [{"containerPath": "/var", "volumeName": f"{name}-var"}]
    copies = [r for r in deployment.of_type(shapes.COMMAND) if "copy-volume.sh" in r.inputs["create"]]
    assert sorted(c.inputs["create"].split()[-3] for c in copies) == ["v-0", "v-1"]  # read, never written
    # Nothing is built and kubeadm neither initialises nor joins: the restore stands in for both.
    assert not deployment.of_type(contract.NODE_IMAGE_TYPE)
    assert not deployment.of_type(contract.CONTROL_PLANE_TYPE) and not deployment.of_type(contract.JOIN_TYPE)
    assert len(deployment.of_type(contract.RESTORED_CONTROL_PLANE_TYPE)) == 1
    assert len(deployment.of_type(contract.RESTORED_WORKER_TYPE)) == 1


def test_restored_nodes_attach_once_their_network_exists_and_a_destroy_removes_it_after_them():
    # pulumi-docker reads a network back two seconds after making it: nodes that waited for the resource
    # waited for that read, a second longer than for their volumes' copies.
    deployment = restored()
    (network,) = deployment.of_type(shapes.NETWORK)
    (made,) = [r for r in deployment.of_type(shapes.COMMAND) if contract.NODE_NETWORK_SCRIPT in r.inputs["create"]]
    assert shlex.split(made.inputs["create"])[-2:] == ["made", "snap-r1"]
    assert shlex.split(made.inputs["delete"])[-2:] == ["remove", "snap-r1"]
    for container in deployment.of_type(shapes.CONTAINER):
        # Known at a preview: an unknown name would replace the nodes of stacks restored before.
        assert container.inputs["networksAdvanced"][0]["name"] == "snap-r1"
        assert made.urn in container.dependencies
        assert network.urn not in container.dependencies
    # Nothing depends on the resource any more, so a destroy may delete it before the nodes: it keeps the
    # network, which the Command removes once they are gone.
    assert network.retain_on_delete is True


def test_a_normal_stacks_nodes_still_wait_for_the_network_resource_which_removes_its_network():
    deployment = run_program("k8s-1-19-1", stack_config("k8s-1-19-1"))
    (network,) = deployment.of_type(shapes.NETWORK)
    assert not network.retain_on_delete
    assert not [r for r in deployment.of_type(shapes.COMMAND) if contract.NODE_NETWORK_SCRIPT in r.inputs["create"]]
    for container in deployment.of_type(shapes.CONTAINER):
        assert network.urn in container.dependencies


def restore_steps(deployment) -> tuple:
    """The restore's Commands: the control plane's identity step, its restore, and the one worker's."""
    commands = deployment.of_type(shapes.COMMAND)

    def only(script: str):
        (step,) = [r for r in commands if script in r.inputs["create"]]
        return step

    return (
        only(contract.RESTORE_IDENTITY_SCRIPT),
        only(contract.RESTORE_SCRIPT),
        only(contract.RESTORE_WORKER_SCRIPT),
    )


def test_the_restore_gets_the_stacks_own_names_and_addresses_and_no_credential():
    _, restore, worker = restore_steps(restored())
    # The stack's own configuration: its cluster name, the node's new address, no token or key.
    assert "clusterName: snap-r1" in restore.inputs["stdin"]
    assert "controlPlaneEndpoint: snap-r1-control-plane:6443" in restore.inputs["stdin"]
    assert "bootstrapTokens" not in restore.inputs["stdin"]
    # What the restore removes from etcd: the snapshot's nodes and its control plane's address.
    assert "snap-src-control-plane snap-src-worker-1" in restore.inputs["create"]
    assert "10.255.0.2" in restore.inputs["create"]
    assert "name: snap-r1-worker-1" in worker.inputs["stdin"]


def test_the_kubeconfig_output_of_a_restored_stack_is_a_secret():
    deployment = restored()
    _, secret = deployment.output("kubeconfig")
    assert secret
    assert deployment.output("snapshot")[0] == "snap-demo"


def test_no_policy_fires_on_a_restored_stack():
    found = evaluate(POLICIES, restored().registrations)
    assert not mandatory(found), found


@pytest.mark.parametrize("script", [contract.RESTORE_WORKER_SCRIPT, contract.RESTORE_IDENTITY_SCRIPT])
@pytest.mark.parametrize(
    "leak",
    ["abcdef.0123456789abcdef", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", "client-key-data: LS0tLS1CRUdJTg=="],
)
def test_a_credential_in_a_restores_input_is_refused(leak, script):
    registrations = restored().registrations
    (step,) = [r for r in registrations if script in r.inputs.get("create", "")]
    leaky = replaced(step, inputs={**step.inputs, "stdin": step.inputs["stdin"] + leak})
    found = mandatory(evaluate(POLICIES, [leaky if r is step else r for r in registrations]))
    assert {f.policy for f in found} == {"kubeadm-config-without-credentials"}
    assert leak.strip() not in found[0].message


def refusal(**overrides: str) -> list[str]:
    registered: list = []
    with pytest.raises(Exception) as raised:
        run_program("snap-r1", {**stack_config("k8s-1-19-1"), "workers": "1", **overrides}, registered=registered)
    assert registered == []  # refused before anything exists
    return raised.value.problems


def test_an_unknown_snapshot_is_refused_naming_the_ones_there_are():
    (problem,) = refusal(snapshot="snap-nope")
    assert problem.startswith("kindling:snapshot: no snapshot named 'snap-nope'")
    assert "allowed: snap-demo" in problem and "snap-old" not in problem  # snap-old is of another release


def test_a_snapshot_of_another_release_is_refused():
    (problem,) = refusal(snapshot="snap-old")
    assert problem.startswith("kindling:snapshot: 'snap-old' is a cluster of Kubernetes 1.34.0")
    assert "allowed: snap-demo" in problem


def test_settings_the_snapshot_fixed_must_match():
    problems = refusal(snapshot="snap-demo", workers="2", podSubnet="10.200.0.0/16")
    assert any(p.startswith("kindling:workers: got 2") and "allowed: 1" in p for p in problems)
    assert any(p.startswith("kindling:podSubnet:") for p in problems)


def test_a_stack_without_a_snapshot_never_asks_for_one(monkeypatch):
    monkeypatch.setattr(kindling_snapshots, "list_snapshots", lambda: pytest.fail("asked the engine"))
    assert run_program("k8s-1-19-1", stack_config("k8s-1-19-1")).of_type(contract.CONTROL_PLANE_TYPE)


def test_a_restore_under_the_snapshots_own_cluster_name_keeps_its_own_nodes():
    # make snapshot STACK=x, make destroy STACK=x, then x with kindling:snapshot: deleting the snapshot's
    # Node objects would delete the ones the restored kubelets registered under the same names.
    deployment = run_program("snap-src", {**stack_config("k8s-1-19-1"), "workers": "1", "snapshot": "snap-demo"})
    _, restore, _ = restore_steps(deployment)
    # Its last arguments: the snapshot's control-plane address, no node to delete, the pod network's hold.
    assert shlex.split(restore.inputs["create"])[-3:] == ["10.255.0.2", "", contract.POD_NETWORK_HOLD_TAINT]


def test_the_e2e_executor_mounts_a_restored_nodes_own_var_volume():
    # make e2e --snapshot without the docker plugin: an anonymous /var would boot the snapshot's image
    # on an empty etcd, and the restore would pass for the wrong reason.
    from tests.e2e.executor import run_flags

    for container in restored().of_type(shapes.CONTAINER):
        flags = run_flags(container.inputs)
        assert f"{container.inputs['name']}-var:/var" in flags


def test_both_restores_first_remove_the_snapshots_dead_containers():
    # containerd's records of the snapshot's containers cost a kubelet seconds each at its start, which the
    # static pods and the Node wait for: the restores remove them before any kubelet starts.
    deployment = restored()
    identity, restore, worker = restore_steps(deployment)
    assert "remove_pod_containers()" in identity.inputs["environment"]["KINDLING_SCRIPT_LIBRARY"]
    assert "remove_pod_containers()" in worker.inputs["environment"]["KINDLING_NODE_SCRIPT_LIBRARY"]
    assert "$KINDLING_SCRIPT_LIBRARY$KINDLING_SCRIPT" in identity.inputs["create"]
    assert "remove_pod_containers" in identity.inputs["environment"]["KINDLING_SCRIPT"]
    # The control plane's kubelet starts only once its identity is made, at that step's end.
    identity_script = identity.inputs["environment"]["KINDLING_SCRIPT"]
    assert identity_script.index("remove_pod_containers") < identity_script.index("phase kubelet-start")
    assert "kubelet-start" not in restore.inputs["environment"]["KINDLING_SCRIPT"]
    assert identity.urn in restore.dependencies
    worker_script = worker.inputs["environment"]["KINDLING_NODE_SCRIPT"]
    assert worker_script.index("remove_pod_containers") < worker_script.index("systemctl restart kubelet")


def test_the_control_planes_restore_steps_read_the_waits_they_call_ahead_of_them():
    # Both wait in the node with one wait_for (restore-waits.sh), read ahead of each script as its library;
    # the identity step's library holds pod-containers.sh's functions too.
    identity, restore, _ = restore_steps(restored())
    for step in (identity, restore):
        library = step.inputs["environment"]["KINDLING_SCRIPT_LIBRARY"]
        assert "$KINDLING_SCRIPT_LIBRARY$KINDLING_SCRIPT" in step.inputs["create"]
        assert "wait_for()" in library and "systemd_in()" in library
        assert "wait_for()" not in step.inputs["environment"]["KINDLING_SCRIPT"]
    identity_library = identity.inputs["environment"]["KINDLING_SCRIPT_LIBRARY"]
    assert identity_library.index("remove_pod_containers()") < identity_library.index("wait_for()")


def test_every_restored_kubelet_finds_its_qos_slices_made_before_it_starts():
    # On a cgroup v1 host, systemd removes the kubelet's QoS slices' devices directories while the kubelet
    # makes pods' cgroups below them, and that pod waits 10-15 s (restored-kubelet.sh): the steps that start a
    # restored kubelet prepare it first (its registration and slices, systemd reloaded), from the library read
    # ahead of their scripts.
    identity, _, worker = restore_steps(restored())
    for step, variable, start in (
        (identity, "KINDLING_SCRIPT", "phase kubelet-start"),
        (worker, "KINDLING_NODE_SCRIPT", "systemctl restart kubelet"),
    ):
        library = step.inputs["environment"][f"{variable}_LIBRARY"]
        assert "prepare_restored_kubelet()" in library and "make_kubelet_slices()" in library
        script = step.inputs["environment"][variable]
        assert "prepare_restored_kubelet()" not in script
        assert script.index("prepare_restored_kubelet ") < script.index(start)


def test_workers_restore_beside_the_control_plane_once_it_has_its_new_ca():
    # A worker restored after the whole control plane got its pods made anew in its kubelet's first second
    # or two, failed to make their cgroups (cgroup v1) and held the up 17 s: the worker's restore needs only
    # the new CA, and runs beside the rest of the control plane's.
    deployment = restored()
    identity, restore, worker = restore_steps(deployment)
    assert identity.urn in worker.dependencies
    assert restore.urn not in worker.dependencies
    # The restore runs again only for a new node container, as before there was an identity step: a stack
    # restored then keeps its cluster (its identity step finds the kubelet enabled and keeps the node's).
    assert restore.inputs["triggers"] == identity.inputs["triggers"] != []
    assert "is-enabled --quiet kubelet" in identity.inputs["environment"]["KINDLING_SCRIPT"]
    # Both take the stack's own configuration; the identity step knows whether nodes are held (CNI config kept).
    assert "clusterName: snap-r1" in identity.inputs["stdin"]
    assert "bootstrapTokens" not in identity.inputs["stdin"]
    assert shlex.split(identity.inputs["create"])[-1] == contract.POD_NETWORK_HOLD_TAINT


def test_the_new_identity_is_made_while_the_node_boots_and_its_kubelet_waits_for_the_boot():
    # The keys are most of the identity step and need nothing of systemd: made beside the boot (the script
    # waits for systemd and containerd where it needs them), the kubelet starts a second sooner. The step
    # waits for the boot itself before it starts the kubelet, not after the step that looks for it once a
    # second, and not after Pulumi has seen it end (the kubelet starts in it).
    deployment = restored()
    identity, restore, _ = restore_steps(deployment)
    (container,) = [r for r in deployment.of_type(shapes.CONTAINER) if r.inputs["name"] == "snap-r1-control-plane"]
    (booted,) = [
        r
        for r in deployment.of_type(shapes.COMMAND)
        if "wait-for-systemd.sh" in r.inputs["create"] and "snap-r1-control-plane" in r.inputs["create"]
    ]
    assert container.urn in identity.dependencies
    assert booted.urn not in identity.dependencies
    assert identity.urn in restore.dependencies
    assert booted.urn not in restore.dependencies
    script = identity.inputs["environment"]["KINDLING_SCRIPT"]
    assert script.index("wait_for systemd_in initializing starting running degraded") < script.index(
        "is-enabled --quiet kubelet"
    )
    assert script.index("phase certs ca") < script.index("wait_for systemd_in running degraded")
    assert script.index("wait_for systemd_in running degraded") < script.index("phase kubelet-start")


def pod_network_steps(deployment) -> dict[str, object]:
    """The restore's pod-network steps, by the node they release (restore-pod-network.sh's second argument)."""
    steps = [r for r in deployment.of_type(shapes.COMMAND) if contract.RESTORE_NETWORK_SCRIPT in r.inputs["create"]]
    return {shlex.split(r.inputs["create"])[-3]: r for r in steps}


def test_restored_nodes_are_held_until_their_pod_network_serves():
    # A restored node is Ready at once, while flannel's state under /run is gone until its pod starts: a pod
    # placed then fails its sandbox and waits out the kubelet's 10-15 s back-off (CoreDNS did, every time).
    deployment = restored()
    _, restore, worker = restore_steps(deployment)
    assert contract.POD_NETWORK_HOLD_TAINT in shlex.split(restore.inputs["create"])  # registered held
    assert shlex.split(worker.inputs["create"])[-1] == contract.POD_NETWORK_HOLD_TAINT
    steps = pod_network_steps(deployment)
    assert set(steps) == {"snap-r1-control-plane", "snap-r1-worker-1"}
    for node, step in steps.items():
        # control plane (whose admin lifts the taint), node, what flannel writes once it serves, the taint
        assert shlex.split(step.inputs["create"])[-4:] == [
            "snap-r1-control-plane",
            node,
            contract.POD_NETWORK_READY_FILES["flannel"],
            contract.POD_NETWORK_HOLD_TAINT,
        ]
    # Each is lifted only after its node registered; the worker's after the control plane's, where CoreDNS
    # then lands first, as in a normal up.
    assert restore.urn in steps["snap-r1-control-plane"].dependencies
    assert worker.urn in steps["snap-r1-worker-1"].dependencies
    assert steps["snap-r1-control-plane"].urn in steps["snap-r1-worker-1"].dependencies


def test_the_network_release_of_a_held_restore_does_not_wait_for_its_pods_on_top_of_the_holds():
    # The restore's pod-network steps wait for flannel on every node; Helm's own wait looks every 2 s and
    # only ended the up later. A normal stack's up has no other wait for the network: its release waits.
    def network_release(deployment):
        (release,) = [r for r in deployment.of_type(shapes.HELM_RELEASE) if r.inputs["name"] == "flannel"]
        return release

    assert network_release(restored()).inputs["skipAwait"] is True
    assert network_release(run_program("snap-r1", stack_config("k8s-1-19-1"))).inputs["skipAwait"] is False


def test_a_pod_network_kindling_knows_no_ready_file_for_is_not_held(monkeypatch):
    # A network of the user's own (cni: none) says nothing kindling could wait for: no hold, so nothing
    # waits forever, and the restore removes its configuration so the node is not Ready before it runs.
    unheld = Snapshot(**{**SNAPSHOT.__dict__, "cni": "none"})
    monkeypatch.setattr(kindling_snapshots, "list_snapshots", lambda: {"snap-demo": unheld})
    deployment = restored(cni="none")
    assert not pod_network_steps(deployment)
    identity, restore, worker = restore_steps(deployment)
    assert shlex.split(identity.inputs["create"])[-1] == ""
    assert shlex.split(restore.inputs["create"])[-1] == ""
    assert shlex.split(worker.inputs["create"])[-1] == ""


def test_an_edited_script_never_runs_a_restore_step_again_on_a_live_node():
    # pulumi-command re-runs create on any input change (a script's text is one) unless the Command has an
    # update step: a fill run again would empty a running node's /var, a restore run again would give it
    # another CA. Only steps that look and change nothing may run again.
    looking = {
        "admin-kubeconfig.sh",
        "control-plane-ready.sh",
        "node-network.sh",  # made: waits until the network exists and prints its name
        "node-versions.sh",
        "wait-for-systemd.sh",
    }
    rerun = {
        next(word for word in step.inputs["create"].split() if word.endswith(".sh"))
        for step in restored().of_type(shapes.COMMAND)
        if "update" not in step.inputs
    }
    assert rerun <= looking, sorted(rerun - looking)


def test_the_killed_restore_drill_kills_at_steps_a_restored_stack_has():
    # tests/drills/restore_kills.py waits for each step's "creating" line: a step renamed would leave it
    # waiting in vain, and the drill would fail without having killed anything.
    deployment = restored()
    steps = [f"{r.type} {r.urn.rsplit('::', 1)[-1]}" for r in deployment.registrations]
    for where, marker, _ in restore_kills.KILL_POINTS:
        step = marker.removesuffix(" creating")
        assert [s for s in steps if s.endswith(step)], f"{where}: no step {step!r} in {steps}"
    assert all(name.startswith("drill-") for name in restore_kills.names("k8s-1-34-0"))
