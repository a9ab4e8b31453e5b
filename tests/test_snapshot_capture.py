"""snapshot/capture.py's order of work, with docker stood in: the nodes run again as soon as their copies are
made, and the snapshot's volumes are written to disk before `make snapshot` returns (the first restore would
otherwise wait behind the write-back of a gigabyte of copies)."""

import pytest

from kindling.snapshots import Snapshot, SnapshotNode, image_reference, var_volume_name
from snapshot import capture

NODES = [
    {"Name": "/demo-control-plane", "Mounts": [{"Destination": "/var", "Type": "volume", "Name": "demo-cp-var"}]},
    {"Name": "/demo-worker-1", "Mounts": [{"Destination": "/var", "Type": "volume", "Name": "demo-w1-var"}]},
]
SNAPSHOT = Snapshot(
    name="snap",
    release="1.34.0",
    cluster="demo",
    created="2026-12-05T06:00:00Z",
    pod_subnet="10.244.0.0/16",
    service_subnet="10.96.0.0/12",
    cni="flannel",
    kube_proxy_mode="iptables",
    nodes=(
        SnapshotNode("control-plane", "demo-control-plane", "10.34.0.2"),
        SnapshotNode("worker", "demo-worker-1", "10.34.0.3"),
    ),
)


@pytest.fixture
def docker_calls(monkeypatch):
    calls: list[tuple[str, ...]] = []

    def docker(*args, **_):
        calls.append(args)
        return "sha256:commit\n" if args[0] == "commit" else ""

    monkeypatch.setattr(capture, "docker", docker)
    monkeypatch.setattr(capture, "cluster_nodes", lambda cluster: NODES)
    monkeypatch.setattr(capture, "describe", lambda cluster, name, nodes: SNAPSHOT)
    return calls


def test_the_snapshots_volumes_are_written_to_disk_once_made_and_after_the_nodes_run_again(docker_calls):
    capture.capture("demo", "snap", say=lambda _: None)
    verbs = [call[0] for call in docker_calls]
    (sync,) = [
        call for call in docker_calls if "--entrypoint" in call and call[call.index("--entrypoint") + 1] == "sync"
    ]
    at = docker_calls.index(sync)
    # Last, after the nodes were unpaused (they do not wait for the disk) and the images built.
    assert at == len(docker_calls) - 1
    assert verbs.index("unpause") < at and max(i for i, verb in enumerate(verbs) if verb == "build") < at
    # Every volume of the snapshot, each one's filesystem synced (sync -f), in a container of its image.
    volumes = [var_volume_name("snap", index) for index in range(2)]
    assert [arg for arg in sync if arg.startswith("--volume=")] == [
        f"--volume={volumes[0]}:/0",
        f"--volume={volumes[1]}:/1",
    ]
    assert sync[-3:] == ("-f", "/0", "/1")
    assert image_reference("snap", "demo-worker-1", "demo") in sync
    assert "--network" in sync and sync[sync.index("--network") + 1] == "none"
