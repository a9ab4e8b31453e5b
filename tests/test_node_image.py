"""Staging a node-image build context that carries local artifact files."""

import json
import os
import subprocess

import pytest

from components.node_image import BUILD_CONTEXT, NodeImageArgs, image_tag, staged_context, staged_files
from components.shell import SCRIPTS
from tests.pulumi_harness import run_program
from tests.support import stack_config


def stage(target, files):
    script = SCRIPTS / "stage-context.sh"
    env = {"PATH": "/usr/bin:/bin", "KINDLING_STAGED_FILES": staged_files(files)}
    subprocess.run(["/bin/sh", str(script), str(target), str(BUILD_CONTEXT)], env=env, check=True)


def test_staging_hard_links_the_local_files_into_a_copy_of_node_image(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    kubeadm = tmp_path / "mirror" / "kubeadm"
    kubeadm.parent.mkdir()
    kubeadm.write_text("kubeadm v1")
    files = {"artifacts/kubernetes/v1.34.0/bin/linux/amd64/kubeadm": kubeadm}
    target = staged_context("c", files)
    assert not target.exists(), "computing where the context goes writes nothing (a preview must not)"

    stage(target, files)
    staged = target / "artifacts/kubernetes/v1.34.0/bin/linux/amd64/kubeadm"
    assert staged.read_text() == "kubeadm v1"
    assert os.stat(staged).st_ino == os.stat(kubeadm).st_ino, "same filesystem: linked, not copied"
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in BUILD_CONTEXT.iterdir())
    assert not list(target.parent.glob("*.partial"))

    kubeadm.unlink()
    kubeadm.write_text("kubeadm v2, rebuilt")
    assert staged_context("c", files) != target, "new content, new context (the old one goes with its Command)"


def test_a_preview_writes_nothing_outside_the_state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mirror = tmp_path / "mirror"
    for artifact in ("v1.34.0/bin/linux/amd64/kubeadm", "v1.34.0/bin/linux/amd64/kubeadm.sha256"):
        (mirror / artifact).parent.mkdir(parents=True, exist_ok=True)
        (mirror / artifact).write_text("x")
    # Only kubeadm comes from the directory; the rest from their default download sites.
    downloads = json.dumps({"kubernetes": f"file://{mirror}"})
    with pytest.raises(Exception, match="kubelet"):  # the directory lacks kubelet: refused before anything
        run_program("k8s-1-34-0", {**stack_config("k8s-1-34-0"), "downloads": downloads}, preview=True)
    for binary in ("kubelet", "kubectl"):
        for name in (binary, f"{binary}.sha256"):
            (mirror / "v1.34.0/bin/linux/amd64" / name).write_text("x")
    deployment = run_program("k8s-1-34-0", {**stack_config("k8s-1-34-0"), "downloads": downloads}, preview=True)
    assert [c for c in deployment.of_type("command:local:Command") if "stage-context.sh" in c.inputs["create"]]
    assert not (tmp_path / "cache").exists()


def test_the_same_files_laid_out_again_keep_the_image(tmp_path, monkeypatch):
    # make bundle writes its mirror anew on every run: new timestamps, same content.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    kubeadm, checksum = tmp_path / "kubeadm", tmp_path / "kubeadm.sha256"
    kubeadm.write_text("kubeadm v1")
    checksum.write_text("aa" * 32)
    files = {"artifacts/kubernetes/kubeadm": kubeadm, "artifacts/kubernetes/kubeadm.sha256": checksum}
    args = NodeImageArgs(cluster="c", kubernetes_version="1.34.0", local_artifacts=files)
    before = image_tag(args)
    for path in (kubeadm, checksum):
        os.utime(path, (1, 1))
    assert image_tag(args) == before
    checksum.write_text("bb" * 32)  # a rebuilt kubeadm comes with its new checksum
    assert image_tag(args) != before
