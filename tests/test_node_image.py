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
    commands = {
        "containerd": containerd_body or f'echo "containerd $*" >> {log}; cat "$2" >> {log}; exec sleep 30',
        # Like a real daemon, answering only once containerd has started (and logged its config).
        "ctr": ctr_body or f'grep -q "^version = " {log} 2>/dev/null || exit 1; echo "ctr $*" >> {log}; exit 0',
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


def stage_with_a_stamp(tmp_path, target, stamp):
    log = tmp_path / "log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(f'#!/bin/sh\necho "docker $*" >> {log}\necho archive > "$3"\n')
    (bin_dir / "docker").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "KINDLING_STAGED_FILES": "", "KINDLING_STAGED_IMAGES": "pause:3.2"}
    if stamp:
        env["KINDLING_STAGED_STAMP"] = stamp
    subprocess.run(["/bin/sh", str(SCRIPTS / "stage-context.sh"), str(target), str(BUILD_CONTEXT)], env=env, check=True)
    return len(log.read_text().splitlines()), os.stat(target / "images/preloaded.tar").st_mtime_ns


def test_a_kept_context_for_the_same_image_is_used_as_it_is_and_staged_anew_for_another(tmp_path):
    target = tmp_path / "context"
    saves, made = stage_with_a_stamp(tmp_path, target, "kindling/c:v1.34.0-aaaa")
    assert saves == 1
    assert stage_with_a_stamp(tmp_path, target, "kindling/c:v1.34.0-aaaa") == (1, made), "untouched, times and all"
    saves, _ = stage_with_a_stamp(tmp_path, target, "kindling/c:v1.34.0-bbbb")
    assert saves == 2, "another image: staged anew"


def test_without_a_stamp_the_context_is_always_staged_anew(tmp_path):
    target = tmp_path / "context"
    stage_with_a_stamp(tmp_path, target, None)
    saves, _ = stage_with_a_stamp(tmp_path, target, None)
    assert saves == 2
    assert not (target / ".kindling-stamp").exists()


@pytest.mark.parametrize("keep", ["false", "true"])
def test_keep_build_cache_keeps_the_staged_context_for_the_same_image(keep, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    preload = json.dumps(["registry.k8s.io/pause:3.2"])
    deployment = run_program(
        "k8s-1-19-1", {**stack_config("k8s-1-19-1"), "keepBuildCache": keep, "preloadImages": preload}
    )
    (image,) = [i for i in deployment.of_type("docker:index/remoteImage:RemoteImage") if "build" in i.inputs]
    (staging,) = [c for c in deployment.of_type("command:local:Command") if "stage-context.sh" in c.inputs["create"]]
    if keep == "true":
        assert staging.inputs["environment"]["KINDLING_STAGED_STAMP"] == image.inputs["name"]
        assert "delete" not in staging.inputs, "destroy keeps it, with the build cache"
    else:
        assert "KINDLING_STAGED_STAMP" not in staging.inputs["environment"]
        assert staging.inputs["delete"].startswith("rm -rf ")


# --- the build's cache records, removed by destroy -----------------------------------------------


BUSY = "Error response from daemon: a disk usage operation is already running"


def fake_docker(tmp_path, records: str, busy: int = 0):
    """A docker on PATH with ``records`` as its build cache: it logs every call but listing, and prunes as
    BuildKit does, except records whose id starts with "shared" (an image of someone else still uses them).
    Its first ``busy`` listings fail as Docker's do while another disk usage operation runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    listing = tmp_path / "records"
    listing.write_text(records)
    listings = tmp_path / "listings"
    listings.touch()
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = system ]; then echo x >> {listings};\n'
        f'  if [ "$(wc -l < {listings})" -le {busy} ]; then echo "{BUSY}" >&2; exit 1; fi\n'
        f"  cat {listing}; exit 0; fi\n"
        f'echo "$*" >> {tmp_path}/calls\n'
        'if [ "$1" = builder ]; then id="${6#id=}"; case "$id" in shared*) exit 0;; esac;\n'
        f'  grep -v "^$id " {listing} > {listing}.new; mv {listing}.new {listing}; fi\n'
    )
    docker.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "KINDLING_DF_RETRY_SECONDS": "0"}


def build_cache(env, *args):
    script = SCRIPTS / "build-cache.sh"
    return subprocess.run(["/bin/sh", str(script), *args], env=env, capture_output=True, text=True, check=True)


def test_the_build_owns_only_the_cache_records_created_after_it_started(tmp_path):
    env = fake_docker(
        tmp_path,
        "old1 2026-12-01 11:54:49.455419678 +0000 UTC\n"
        "new1 2026-12-01 18:30:00.100000000 +0000 UTC\n"
        "new2 2026-12-01 18:31:12.000000001 +0000 UTC\n"
        "\n",
    )
    started = "1796149800"  # 2026-12-01 18:30:00 UTC
    created = build_cache({**env, "KINDLING_BUILD_STARTED": started}, "created")
    assert created.stdout.split() == ["new2", "new1"], "newest first; a record an earlier build made is another stack's"


RECORDS = (
    "new2 2026-12-01 18:31:12.000000001 +0000 UTC\n"
    "new1 2026-12-01 18:30:00.100000000 +0000 UTC\n"
    "other 2026-12-01 11:54:49.455419678 +0000 UTC\n"
)


def test_destroy_removes_the_image_then_each_record_the_build_created(tmp_path):
    env = fake_docker(tmp_path, RECORDS)
    build_cache({**env, "PULUMI_COMMAND_STDOUT": "new2\nnew1", "KINDLING_BUILT_IMAGE": "kindling-node:v1"}, "prune")
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [
        "image inspect kindling-node:v1",
        "image rm kindling-node:v1",  # BuildKit keeps whatever an existing image shares
        "builder prune --all --force --filter id=new2",
        "builder prune --all --force --filter id=new1",
    ]
    assert (tmp_path / "records").read_text().split()[0] == "other", "another build's record stays"


def test_a_record_another_image_still_shares_is_left_with_a_warning(tmp_path):
    env = fake_docker(tmp_path, RECORDS + "shared1 2026-12-01 18:31:13.0 +0000 UTC\n")
    pruned = build_cache(
        {**env, "PULUMI_COMMAND_STDOUT": "shared1\nnew2", "KINDLING_BUILT_IMAGE": "kindling-node:v1"}, "prune"
    )
    assert "shared1 is still shared with another image" in pruned.stderr
    prunes = [c for c in (tmp_path / "calls").read_text().splitlines() if c.startswith("builder")]
    assert prunes.count("builder prune --all --force --filter id=shared1") == 3, "three tries, then left"
    assert prunes.count("builder prune --all --force --filter id=new2") == 1


def test_a_listing_refused_while_another_disk_usage_operation_runs_is_tried_again(tmp_path):
    # A destroy beside another cluster's checks read the refusal as an empty cache and left all nine records.
    env = fake_docker(tmp_path, RECORDS, busy=3)
    build_cache({**env, "PULUMI_COMMAND_STDOUT": "new2\nnew1", "KINDLING_BUILT_IMAGE": "kindling-node:v1"}, "prune")
    assert (tmp_path / "records").read_text().split()[0] == "other", "both of the build's records went"
    assert len((tmp_path / "listings").read_text().split()) > 3
    created = build_cache(
        {**fake_docker(tmp_path / "b", RECORDS, busy=2), "KINDLING_BUILD_STARTED": "1796149800"}, "created"
    )
    assert created.stdout.split() == ["new2", "new1"]


def test_a_listing_that_keeps_failing_fails_the_step_instead_of_reading_as_no_record(tmp_path):
    env = fake_docker(tmp_path, RECORDS, busy=100)
    for args, extra in (("prune", {"PULUMI_COMMAND_STDOUT": "new2", "KINDLING_BUILT_IMAGE": "i"}), ("created", {})):
        with pytest.raises(subprocess.CalledProcessError) as failed:
            build_cache({**env, "KINDLING_BUILD_STARTED": "1796149800", **extra}, args)
        assert "cannot list the build cache" in failed.value.stderr and "already running" in failed.value.stderr
    assert "new2" in (tmp_path / "records").read_text(), "nothing pruned blindly"


def test_the_build_start_is_required_to_tell_records_apart(tmp_path):
    env = fake_docker(tmp_path, "")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        build_cache(env, "created")
    assert "KINDLING_BUILD_STARTED" in failed.value.stderr


def test_the_node_image_build_cache_is_recorded_after_the_build_and_pruned_on_destroy():
    deployment = run_program("k8s-1-19-1", stack_config("k8s-1-19-1"))
    (image,) = deployment.of_type("docker:index/remoteImage:RemoteImage")
    commands = deployment.of_type("command:local:Command")
    (started,) = [c for c in commands if "build-cache.sh started" in c.inputs["create"]]
    (cache,) = [c for c in commands if "build-cache.sh created" in c.inputs["create"]]
    assert started.urn in image.dependencies, "the start is taken before the build"
    assert image.urn in cache.dependencies, "the records are read once the image exists"
    assert "build-cache.sh prune" in cache.inputs["delete"]
    assert cache.inputs["triggers"] == [image.outputs["imageId"]], "a rebuilt image's records are its own"
    assert "KINDLING_BUILD_STARTED" in cache.inputs["environment"]
    assert cache.inputs["environment"]["KINDLING_BUILT_IMAGE"] == image.inputs["name"], "the image goes first"
    nodes = deployment.of_type("docker:index/container:Container")
    assert nodes and all(cache.urn in node.dependencies for node in nodes), "nodes go before the image is removed"


@pytest.mark.parametrize(
    "overrides",
    [{"keepBuildCache": "true"}, {"nodeImage": "kindling/prebuilt@sha256:" + "ab" * 32}],
    ids=["keepBuildCache", "prebuilt"],
)
def test_a_kept_cache_or_a_prebuilt_image_leaves_the_build_cache_alone(overrides):
    deployment = run_program("k8s-1-19-1", {**stack_config("k8s-1-19-1"), **overrides})
    scripts = [c.inputs["create"] for c in deployment.of_type("command:local:Command")]
    assert not [s for s in scripts if "build-cache.sh" in s]
