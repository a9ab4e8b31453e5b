"""snapshot/capture.py's order of work, with docker stood in: the nodes run again as soon as their copies are
made, and the snapshot's volumes are written to disk before `make snapshot` returns (the first restore would
otherwise wait behind the write-back of a gigabyte of copies)."""

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
