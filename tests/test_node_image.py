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


# --- baking preloaded images (node-image/bake-images.sh), with stand-in containerd and ctr ----------------


def bake(tmp_path, archives, schema="2", containerd_body=None, ctr_body=None):
    images, root = tmp_path / "images", tmp_path / "root"
    images.mkdir()
    for name in archives:
        (images / name).write_text("docker save archive")
    log = tmp_path / "log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # As the real ones: ctr reaches containerd only once it has read its configuration and serves.
    serving = tmp_path / "serving"
    commands = {
        "containerd": containerd_body
        or f'echo "containerd $*" >> {log}; cat "$2" >> {log}; touch {serving}; exec sleep 30',
        "ctr": ctr_body or f'[ "$3" = version ] && [ ! -e {serving} ] && exit 1; echo "ctr $*" >> {log}; exit 0',
    }
    for name, body in commands.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    text = (BUILD_CONTEXT / "bake-images.sh").read_text()
    text = text.replace("/images/", f"{images}/").replace("/usr/local/", f"{root}/usr/local/")
    text = text.replace("/var/lib/", f"{root}/var/lib/")
    result = subprocess.run(
        ["/bin/sh", "-c", text, "bake-images.sh", schema],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, root, (log.read_text().splitlines() if log.exists() else [])


def test_baking_stores_each_archive_unpacked_later_with_its_content_in_the_image(tmp_path):
    result, root, calls = bake(tmp_path, ["preloaded.tar"])
    assert result.returncode == 0, result.stderr
    imports = [c for c in calls if " images import " in c]
    assert imports == [
        f"ctr --address {c.split()[2]} --namespace k8s.io images import --no-unpack {tmp_path}/images/preloaded.tar"
        for c in imports
    ]
    assert len(imports) == 1
    content = root / "var/lib/containerd/io.containerd.content.v1.content"
    assert content.is_symlink(), "layers stay in the image: a node's /var volume gets a link, not a copy"
    assert os.readlink(content) == f"{root}/usr/local/share/kindling/containerd-content"
    assert 'disabled_plugins = ["io.containerd.grpc.v1.cri"]' in calls, "the CRI needs mounts a build cannot make"


def test_baking_for_containerd_2_disables_its_split_cri_plugins(tmp_path):
    result, _, calls = bake(tmp_path, ["preloaded.tar"], schema="3")
    assert result.returncode == 0, result.stderr
    assert "version = 3" in calls
    assert any("io.containerd.cri.v1.images" in c and "io.containerd.cri.v1.runtime" in c for c in calls)


def test_nothing_to_bake_leaves_the_image_as_it_was(tmp_path):
    result, root, calls = bake(tmp_path, [])
    assert result.returncode == 0, result.stderr
    assert calls == [], "no containerd started"
    assert not root.exists()


def test_a_containerd_that_does_not_start_fails_the_build_with_its_log(tmp_path):
    # containerd exits at once; its socket never answers.
    result, _, _ = bake(
        tmp_path, ["preloaded.tar"], containerd_body='echo "failed to load plugin" >&2; exit 1', ctr_body="exit 1"
    )
    assert result.returncode == 1
    assert "containerd did not start to bake the images" in result.stderr
    assert "failed to load plugin" in result.stderr


def test_staging_saves_the_baked_images_as_one_archive(tmp_path):
    log = tmp_path / "log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(f'#!/bin/sh\necho "docker $*" >> {log}\n[ "$2" = -o ] && echo archive > "$3"\n')
    (bin_dir / "docker").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "KINDLING_STAGED_FILES": "",
        "KINDLING_STAGED_IMAGES": "registry.k8s.io/pause:3.2\nregistry.k8s.io/etcd:3.4.13-0",
    }
    target = tmp_path / "context"
    subprocess.run(["/bin/sh", str(SCRIPTS / "stage-context.sh"), str(target), str(BUILD_CONTEXT)], env=env, check=True)
    assert log.read_text().splitlines() == [
        f"docker save -o {target}.partial/images/preloaded.tar registry.k8s.io/pause:3.2 registry.k8s.io/etcd:3.4.13-0"
    ]
    assert (target / "images/preloaded.tar").read_text() == "archive\n"
    assert not (target / "images/README.md").exists(), "only what is baked"
