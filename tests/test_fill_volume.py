"""fill-volume.sh, which fills a restored node's /var from its snapshot's (components/restored_volume.py):
run here on a small tree shaped like a node's /var, for what a restore relies on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from components.shell import SCRIPTS

LAYERS = "lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"


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
