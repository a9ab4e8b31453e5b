"""Staging a node-image build context that carries local artifact files."""

import os

from components.node_image import BUILD_CONTEXT, NodeImageArgs, image_tag, staged_context


def test_staging_is_reused_hard_linked_and_replaced_when_a_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    kubeadm = tmp_path / "mirror" / "kubeadm"
    kubeadm.parent.mkdir()
    kubeadm.write_text("kubeadm v1")
    files = {"artifacts/kubernetes/v1.34.0/bin/linux/amd64/kubeadm": kubeadm}

    first = staged_context("c", files)
    staged = first / "artifacts/kubernetes/v1.34.0/bin/linux/amd64/kubeadm"
    assert staged.read_text() == "kubeadm v1"
    assert os.stat(staged).st_ino == os.stat(kubeadm).st_ino, "same filesystem: linked, not copied"
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in BUILD_CONTEXT.iterdir())
    assert staged_context("c", files) == first

    kubeadm.unlink()
    kubeadm.write_text("kubeadm v2, rebuilt")
    second = staged_context("c", files)
    assert second != first and not first.exists(), "a cluster keeps only its current context"
    assert (second / "artifacts/kubernetes/v1.34.0/bin/linux/amd64/kubeadm").read_text() == "kubeadm v2, rebuilt"
    assert staged_context("other", files).parent == second.parent and second.exists()


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
