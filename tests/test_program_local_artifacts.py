"""The real program under Pulumi's mocks: local artifact directories (kindling:downloads)."""

import json
from pathlib import Path

import pytest

from kindling import artifacts
from kindling.config import SpecError
from kindling.spec import build_spec
from tests.program_fixtures import (
    COMMAND,
    REFERENCE,
    deployed,
    deployed_with,
)
from tests.support import ROOT

# --- local artifact directories ----------------------------------------------------------------------------

MIRRORED = ("kubernetes", "containerd", "runc", "cniPlugins", "crictl", "helm")


def local_mirror(root, spec_version="1.34.0", arch="amd64"):
    """A directory per download source, laid out like upstream, with every file the release needs."""
    spec = build_spec({"kubernetesVersion": spec_version}, "x")
    for artifact in artifacts.node_artifacts(spec):
        paths = [artifact.path]
        if artifact.checksum.startswith("file:"):
            paths.append(artifact.checksum.removeprefix("file:"))
        for path in paths:
            file = root / artifact.source / path.format(arch=arch)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(f"{artifact.name} {path}\n")
    return {source: f"file://{root / source}" for source in MIRRORED}


def test_local_download_directories_are_staged_into_the_build_context(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    downloads = local_mirror(tmp_path / "mirror")
    deployment = deployed_with("k8s-1-34-0", {"downloads": json.dumps(downloads)})
    (image,) = deployment.of_type("docker:index/remoteImage:RemoteImage")
    build = image.inputs["build"]
    context = Path(build["context"])
    assert context.parent == tmp_path / "cache" / "kindling" / "node-image-contexts"
    assert "additionalContexts" not in build, "named build contexts need Docker 23; staging works on 20.10"
    assert "kubernetes dir" in build["buildArgs"]["KINDLING_DOWNLOADS"]
    assert not list((ROOT / "node-image" / "artifacts").glob("*/")), "the repository's context stays clean"
    (owner,) = [c for c in deployment.of_type(COMMAND) if "stage-context.sh" in c.inputs["create"]]
    assert str(context) in owner.inputs["create"]
    staged = dict(line.split("\t") for line in owner.inputs["environment"]["KINDLING_STAGED_FILES"].splitlines())
    kubeadm = "artifacts/kubernetes/v1.34.0/bin/linux/amd64/kubeadm"
    assert staged[kubeadm] == str(tmp_path / "mirror/kubernetes/v1.34.0/bin/linux/amd64/kubeadm")
    assert "artifacts/containerd/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz.sha256sum" in staged
    assert owner.inputs["delete"] == f"rm -rf {context}", "destroy removes the staged context"
    assert owner.inputs["triggers"] == [str(context)]
    assert owner.urn in image.dependencies, "staged before the image is built, never during a preview"


def test_a_missing_local_artifact_is_refused_before_anything_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    downloads = local_mirror(tmp_path / "mirror")
    (tmp_path / "mirror/runc/v1.3.0/runc.amd64").unlink()
    with pytest.raises(SpecError, match=r"kindling:downloads\.runc: .*/mirror/runc has no v1\.3\.0/runc\.amd64"):
        deployed_with("k8s-1-34-0", {"downloads": json.dumps(downloads)})


def test_downloads_from_the_internet_build_from_the_repositorys_context():
    (image,) = deployed(REFERENCE).of_type("docker:index/remoteImage:RemoteImage")
    assert Path(image.inputs["build"]["context"]) == ROOT / "node-image"
