"""snapshot/capture.py's order of work, with docker stood in: the nodes run again as soon as their copies are
made, and the snapshot's volumes are written to disk before `make snapshot` returns (the first restore would
otherwise wait behind the write-back of a gigabyte of copies)."""

import pytest

from kindling.snapshots import image_reference, var_volume_name
from snapshot import capture
from tests.test_snapshots import SNAPSHOT

# The snapshot's nodes as docker inspect shows them (what capture reads: names and /var volumes).
NODES = [
    {"Name": f"/{node.name}", "Mounts": [{"Destination": "/var", "Type": "volume", "Name": f"{node.name}-var"}]}
    for node in SNAPSHOT.nodes
]


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
    capture.capture(SNAPSHOT.cluster, "snap", say=lambda _: None)
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
    assert image_reference("snap", SNAPSHOT.nodes[-1].name, SNAPSHOT.cluster) in sync
    assert "--network" in sync and sync[sync.index("--network") + 1] == "none"
