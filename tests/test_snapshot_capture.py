"""snapshot/capture.py's order of work, with docker stood in: a cluster is captured only once every node is
Ready; the nodes run again as soon as their copies are made, and the snapshot's volumes are written to disk
before `make snapshot` returns (the first restore would otherwise wait behind the write-back of a gigabyte of
copies)."""

import json
import subprocess

import pytest

from kindling.contract import HELPER_VAR_MOUNT
from kindling.snapshots import image_reference, var_volume_name
from snapshot import capture
from tests.test_snapshots import SNAPSHOT

# The snapshot's nodes as docker inspect shows them (what capture reads: names and /var volumes).
NODES = [
    {"Name": f"/{node.name}", "Mounts": [{"Destination": "/var", "Type": "volume", "Name": f"{node.name}-var"}]}
    for node in SNAPSHOT.nodes
]


def nodes_listed(ready: dict[str, str]) -> str:
    """kubectl get nodes -o json, each node's Ready condition as given."""
    return json.dumps(
        {
            "items": [
                {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": status}]}}
                for name, status in ready.items()
            ]
        }
    )


ALL_READY = {node.name: "True" for node in SNAPSHOT.nodes}


@pytest.fixture
def ready_looks() -> list[str]:
    """What each look at the nodes answers, in turn (the last one from then on): Ready unless a test says."""
    return [nodes_listed(ALL_READY)]


@pytest.fixture
def docker_calls(monkeypatch, ready_looks):
    calls: list[tuple[str, ...]] = []

    def docker(*args, **_):
        calls.append(args)
        if args[0] == "exec" and args[-4:] == ("get", "nodes", "-o", "json"):
            answer = ready_looks.pop(0) if len(ready_looks) > 1 else ready_looks[0]
            if answer.startswith("refused"):
                raise capture.CaptureError(f"docker exec {args[1]} failed: {answer}")
            return answer
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
    # No anonymous volume with a copy of the image's own /var (which it declares a volume).
    assert sync[sync.index("--mount") + 1] == HELPER_VAR_MOUNT


def test_a_snapshots_var_leaves_out_the_wal_segment_etcd_makes_ahead_of_need(tmp_path, docker_calls):
    # 64 MB that etcd makes again at its start (its file pipeline opens N.tmp with O_CREATE): copied, every
    # restore's fill would copy them too.
    source, target = tmp_path / "var", tmp_path / "copy"
    wal = source / "lib/etcd/member/wal"
    wal.mkdir(parents=True)
    (wal / "0000000000000000-0000000000000000.wal").write_text("records\n")
    (wal / "0.tmp").write_bytes(bytes(4096))
    (source / "lib/etcd/member/snap").mkdir()
    (source / "lib/etcd/member/snap/db").write_text("data\n")
    target.mkdir()
    subprocess.run(["sh", "-c", capture.COPY_VAR, "copy-var", str(source), str(target)], check=True)
    copied = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert copied == ["lib/etcd/member/snap/db", "lib/etcd/member/wal/0000000000000000-0000000000000000.wal"]
    # What make snapshot runs for each node's /var.
    capture.capture(SNAPSHOT.cluster, "snap", say=lambda _: None)
    copies = [call for call in docker_calls if capture.COPY_VAR in call]
    assert len(copies) == len(SNAPSHOT.nodes)
    for call, node in zip(copies, NODES, strict=True):
        assert f"{node['Mounts'][0]['Name']}:/from:ro" in call and call[-2:] == ("/from", "/to")
        assert call[call.index("--mount") + 1] == HELPER_VAR_MOUNT


def test_a_cluster_still_starting_is_captured_once_every_node_is_ready(docker_calls, ready_looks, monkeypatch):
    monkeypatch.setattr(capture, "READY_LOOK_SECONDS", 0.01)
    worker = SNAPSHOT.nodes[-1].name
    ready_looks[:] = [
        "refused: the API server is starting",
        nodes_listed({**ALL_READY, worker: "False"}),
        nodes_listed(ALL_READY),
    ]
    said: list[str] = []
    capture.capture(SNAPSHOT.cluster, "snap", say=said.append)
    assert said[0] == f"waiting for {', '.join(ALL_READY)} to be Ready", "said once, naming every node not Ready"
    assert not [line for line in said if line.startswith("waiting") and line != said[0]]
    verbs = [call[0] for call in docker_calls]
    looks = [n for n, call in enumerate(docker_calls) if call[-4:] == ("get", "nodes", "-o", "json")]
    assert len(looks) == 3 and looks[-1] < verbs.index("pause"), "paused only once all were Ready"


def test_a_cluster_that_does_not_get_ready_is_refused_and_nothing_is_captured(docker_calls, ready_looks, monkeypatch):
    monkeypatch.setattr(capture, "READY_WAIT_SECONDS", 0.05)
    monkeypatch.setattr(capture, "READY_LOOK_SECONDS", 0.01)
    worker = SNAPSHOT.nodes[-1].name
    ready_looks[:] = [nodes_listed({SNAPSHOT.nodes[0].name: "True", worker: "Unknown"})]
    with pytest.raises(capture.CaptureError) as refused:
        capture.capture(SNAPSHOT.cluster, "snap", say=lambda _: None)
    assert f"{worker} (Ready: Unknown)" in str(refused.value) and "nothing was captured" in str(refused.value)
    assert SNAPSHOT.nodes[0].name + " (" not in str(refused.value), "only the nodes not Ready are named"
    verbs = {call[0] for call in docker_calls}
    assert not verbs & {"pause", "commit", "volume", "build", "run"}, "no node paused, no image or volume made"


def test_a_node_not_registered_is_named_so(docker_calls, ready_looks, monkeypatch):
    monkeypatch.setattr(capture, "READY_WAIT_SECONDS", 0)
    worker = SNAPSHOT.nodes[-1].name
    ready_looks[:] = [nodes_listed({SNAPSHOT.nodes[0].name: "True"})]
    with pytest.raises(capture.CaptureError, match=f"{worker} \\(Ready: not registered\\)"):
        capture.capture(SNAPSHOT.cluster, "snap", say=lambda _: None)
