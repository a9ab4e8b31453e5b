"""fill-volume.sh, which fills a restored node's /var from its snapshot's (components/restored_volume.py):
run here on a small tree shaped like a node's /var, for what a restore relies on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from components.shell import SCRIPTS
from kindling.contract import HELPER_VAR_MOUNT

LAYERS = "lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"
SNAPSHOT_MACHINE_ID = "67b118dfdac04b3983d79be458db3b03"


def snapshot_var(root: Path) -> Path:
    source = root / "snapshot"
    (source / LAYERS / "1" / "fs" / "bin").mkdir(parents=True)
    (source / LAYERS / "1" / "fs" / "bin" / "sh").write_text("layer file\n")
    (source / LAYERS / "1" / "fs" / "bin" / "ash").symlink_to("sh")
    (source / "lib" / "etcd" / "member").mkdir(parents=True)
    (source / "lib" / "etcd" / "member" / "db").write_text("etcd data\n")
    os.chmod(source / "lib" / "etcd" / "member" / "db", 0o600)
    (source / "log").mkdir()
    (source / "log" / "pods.log").write_text("log\n")
    (source / "lib" / "dbus").mkdir()
    (source / "lib" / "dbus" / "machine-id").write_text(f"{SNAPSHOT_MACHINE_ID}\n")
    (source / "log" / "journal" / SNAPSHOT_MACHINE_ID).mkdir(parents=True)
    (source / "log" / "journal" / SNAPSHOT_MACHINE_ID / "system.journal").write_text("the snapshot node's log\n")
    return source


def fill(source: Path, target: Path, *linked: str) -> None:
    subprocess.run(["sh", str(SCRIPTS / "fill-volume.sh"), str(source), str(target), *linked], check=True)


def test_layers_are_linked_and_what_is_written_in_place_is_copied(tmp_path):
    source, target = snapshot_var(tmp_path), tmp_path / "restore"
    target.mkdir()
    fill(source, target, LAYERS)
    layer, etcd = Path(LAYERS) / "1" / "fs" / "bin" / "sh", Path("lib") / "etcd" / "member" / "db"
    assert (target / layer).stat().st_ino == (source / layer).stat().st_ino  # linked: no gigabyte copied
    assert os.readlink(target / LAYERS / "1" / "fs" / "bin" / "ash") == "sh"
    # etcd's data is the restore's own: what the restored etcd writes never reaches the snapshot.
    assert (target / etcd).stat().st_ino != (source / etcd).stat().st_ino
    assert (target / etcd).stat().st_mode & 0o777 == 0o600
    (target / etcd).write_text("the restore's writes\n")
    assert (source / etcd).read_text() == "etcd data\n"
    assert (target / "log" / "pods.log").read_text() == "log\n"


def test_without_a_linked_path_everything_is_copied(tmp_path):
    source, target = snapshot_var(tmp_path), tmp_path / "restore"
    target.mkdir()
    fill(source, target)
    layer = Path(LAYERS) / "1" / "fs" / "bin" / "sh"
    assert (target / layer).read_text() == "layer file\n"
    assert (target / layer).stat().st_ino != (source / layer).stat().st_ino


def test_a_fill_again_over_a_half_done_one_never_writes_through_a_link(tmp_path):
    # A fill that failed half way (a Command run again) left linked files behind: were they copied over,
    # the copy would write into the snapshot's own files. The target is emptied first.
    source, target = snapshot_var(tmp_path), tmp_path / "restore"
    target.mkdir()
    fill(source, target, LAYERS)
    (target / "stale").write_text("left by the attempt before\n")
    fill(source, target)  # whole copy (the fallback), over the linked tree
    assert (source / LAYERS / "1" / "fs" / "bin" / "sh").read_text() == "layer file\n"
    assert (target / LAYERS / "1" / "fs" / "bin" / "sh").stat().st_ino != (
        source / LAYERS / "1" / "fs" / "bin" / "sh"
    ).stat().st_ino
    assert not (target / "stale").exists()


def copy_volume_docker_runs(tmp_path, plain: bool) -> list[list[str]]:
    """copy-volume.sh's docker runs, with docker stood in: volumes under one directory of the engine's, plain
    (local, no options) or not. Returns each run's arguments."""
    log = tmp_path / "runs"
    docker = tmp_path / "bin" / "docker"
    docker.parent.mkdir(parents=True)
    options = 0 if plain else 1
    docker.write_text(
        f"""#!/bin/sh
case "$1 $2" in
"volume inspect")
    case "$4" in
    *Mountpoint*) echo "/var/lib/docker/volumes/$5/_data" ;;
    *) echo "local {options}" ;;
    esac ;;
"run "*) printf '%s\\n' "$@" | tr '\\n' ' ' >> {log}; echo >> {log} ;;
esac
"""
    )
    docker.chmod(0o755)
    env = {"PATH": f"{docker.parent}:/usr/bin:/bin", "KINDLING_NODE_SCRIPT": "true"}
    subprocess.run(
        ["sh", str(SCRIPTS / "copy-volume.sh"), "snap-var", "r1-var", "kindling-snapshot/snap:control-plane"],
        env=env,
        check=True,
    )
    return [line.split() for line in log.read_text().splitlines()]


def test_a_fill_makes_no_copy_of_the_images_own_var(tmp_path):
    # The node image declares /var a volume: a run without a mount there makes an anonymous volume, and copies
    # the image's /var into it (0.7 s of a fill's 0.9 s start here).
    for plain in (True, False):
        (run,) = copy_volume_docker_runs(tmp_path / str(plain), plain)
        mount = run.index("--mount")
        assert run[mount + 1] == HELPER_VAR_MOUNT == "type=tmpfs,destination=/var"
        assert mount < run.index("kindling-snapshot/snap:control-plane")


def test_the_snapshot_nodes_machine_id_and_journal_are_left_out(tmp_path):
    # The node's entrypoint makes a machine id only where none is, and takes D-Bus's when there is one: a
    # restored node must make its own (two restores of one snapshot side by side must not share it), and
    # its journal must not begin with the snapshot's node's.
    for linked in ((LAYERS,), ()):
        source, target = snapshot_var(tmp_path / str(len(linked))), tmp_path / f"restore-{len(linked)}"
        target.mkdir()
        fill(source, target, *linked)
        assert not (target / "lib" / "dbus" / "machine-id").exists()
        assert list((target / "log" / "journal").iterdir()) == []  # journald writes its own there
        assert (target / "log" / "pods.log").read_text() == "log\n"
        assert (target / "lib" / "etcd" / "member" / "db").read_text() == "etcd data\n"
        # The snapshot keeps what it holds.
        assert (source / "lib" / "dbus" / "machine-id").read_text() == f"{SNAPSHOT_MACHINE_ID}\n"
