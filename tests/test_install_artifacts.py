"""node-image/install-artifacts.sh, run for real against a fake mirror on this machine.

The build runs this script inside the image; here it installs into a DESTDIR
from a directory laid out like the upstream release sites, with checksum files
in each publisher's own format.
"""

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from kindling import artifacts
from kindling.spec import build_spec
from tests.support import ROOT

SCRIPT = ROOT / "node-image" / "install-artifacts.sh"
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip() or "amd64"

pytestmark = pytest.mark.skipif(shutil.which("dpkg") is None, reason="the script runs on Debian-family systems")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def signed_list(lines: list[str]) -> str:
    """runc's runc.sha256sum: sha256sum lines inside a PGP clear-signature."""
    body = "\n".join(lines)
    return (
        f"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{body}\n"
        "-----BEGIN PGP SIGNATURE-----\n\nwsFcBAEBCAAQ\n-----END PGP SIGNATURE-----\n"
    )


def mirror_for(root: Path, manifest: list[artifacts.Artifact]) -> None:
    """Lay out every artifact of ``manifest`` with the checksum file its publisher would write."""
    for artifact in manifest:
        path = root / artifact.source / artifact.path.format(arch=ARCH)
        path.parent.mkdir(parents=True, exist_ok=True)
        if artifact.install.startswith("bin:"):
            data = f"#!/bin/sh\necho {artifact.name}\n".encode()
        elif artifact.install.startswith("untar-member:"):
            data = tarball({f"linux-{ARCH}/{artifact.name}": b"#!/bin/sh\n"})
        else:
            data = tarball({f"bin/{artifact.name}-tool": b"#!/bin/sh\n"})
        path.write_bytes(data)
        if not artifact.checksum.startswith("file:"):
            continue
        checksum_file = root / artifact.source / artifact.checksum.removeprefix("file:").format(arch=ARCH)
        if artifact.source == "runc":
            checksum_file.write_text(signed_list([f"{sha256(b'other')}  runc.arm64x", f"{sha256(data)}  {path.name}"]))
        elif artifact.source == "kubernetes":
            checksum_file.write_text(sha256(data))  # dl.k8s.io: a bare hash
        else:
            checksum_file.write_text(f"{sha256(data)}  {path.name}\n")


def run_script(root: Path, destdir: Path, manifest: str) -> subprocess.CompletedProcess:
    sources = "\n".join(
        f"{source} dir" for source in ("kubernetes", "containerd", "runc", "cniPlugins", "crictl", "helm")
    )
    # Its scratch directory where the test can see it (beside DESTDIR), rather than in the host's /tmp.
    scratch = destdir.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "TMPDIR": str(scratch),
        "ARTIFACT_ROOT": str(root),
        "DESTDIR": str(destdir),
        "KINDLING_ARTIFACTS": manifest,
        "KINDLING_DOWNLOADS": sources,
    }
    return subprocess.run(["sh", str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=60)


def test_a_whole_release_installs_from_a_local_mirror(tmp_path):
    spec = build_spec({"kubernetesVersion": "1.24.0"}, "k8s-1-24-0")
    manifest = artifacts.node_artifacts(spec)
    mirror_for(tmp_path / "mirror", manifest)
    result = run_script(tmp_path / "mirror", tmp_path / "root", artifacts.manifest(artifacts.node_artifacts(spec)))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "root"
    for binary in ("kubeadm", "kubelet", "kubectl"):
        assert os.access(root / "usr/bin" / binary, os.X_OK)
    assert os.access(root / "usr/local/sbin/runc", os.X_OK)
    assert (root / "usr/local/bin/containerd-tool").exists()
    assert (root / "opt/cni/bin/bin/cni-plugins-tool").exists()
    assert os.access(root / "usr/local/bin/helm", os.X_OK)
    assert result.stdout.count("sha256 verified") == len(manifest)
    assert not list((tmp_path / "tmp").iterdir()), "its scratch directory is removed"


def test_a_tampered_artifact_is_refused(tmp_path):
    spec = build_spec({"kubernetesVersion": "1.24.0"}, "k8s-1-24-0")
    mirror_for(tmp_path / "mirror", artifacts.node_artifacts(spec))
    kubelet = tmp_path / "mirror/kubernetes/v1.24.0/bin/linux" / ARCH / "kubelet"
    kubelet.write_bytes(b"#!/bin/sh\necho something else\n")
    result = run_script(tmp_path / "mirror", tmp_path / "root", artifacts.manifest(artifacts.node_artifacts(spec)))
    assert result.returncode != 0
    assert f"sha256 of v1.24.0/bin/linux/{ARCH}/kubelet is" in result.stderr
    assert not (tmp_path / "root/usr/bin/kubelet").exists()


def test_an_artifact_without_any_checksum_is_refused(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "helm").mkdir(parents=True)
    data = tarball({f"linux-{ARCH}/helm": b"#!/bin/sh\n"})
    (mirror / "helm/helm-v3.4.0-linux-x.tar.gz").write_bytes(data)
    (mirror / "helm/helm-v3.4.0-linux-x.tar.gz.sha256sum").write_text(f"{sha256(data)}  some-other-file.tgz\n")
    line = "helm helm helm-v3.4.0-linux-x.tar.gz file:helm-v3.4.0-linux-x.tar.gz.sha256sum bin:/usr/local/bin/helm"
    result = run_script(mirror, tmp_path / "root", line)
    assert result.returncode != 0
    assert "refusing to install it unverified" in result.stderr


def test_pinned_hashes_and_star_prefixed_checksum_lines(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "crictl/v1.18.0").mkdir(parents=True)
    (mirror / "crictl/v1.21.0").mkdir(parents=True)
    old = tarball({"crictl": b"#!/bin/sh\necho old\n"})
    new = tarball({"crictl": b"#!/bin/sh\necho new\n"})
    (mirror / f"crictl/v1.18.0/crictl-v1.18.0-linux-{ARCH}.tar.gz").write_bytes(old)
    (mirror / f"crictl/v1.21.0/crictl-v1.21.0-linux-{ARCH}.tar.gz").write_bytes(new)
    # cri-tools 1.21 wrote "hash */path/to/file".
    (mirror / f"crictl/v1.21.0/crictl-v1.21.0-linux-{ARCH}.tar.gz.sha256").write_text(
        f"{sha256(new)} */home/runner/work/crictl-v1.21.0-linux-{ARCH}.tar.gz\n"
    )
    manifest = "\n".join(
        [
            f"crictl crictl v1.18.0/crictl-v1.18.0-linux-{{arch}}.tar.gz pinned:{ARCH}={sha256(old)} untar:/old",
            "crictl crictl v1.21.0/crictl-v1.21.0-linux-{arch}.tar.gz "
            "file:v1.21.0/crictl-v1.21.0-linux-{arch}.tar.gz.sha256 untar:/new",
        ]
    )
    result = run_script(mirror, tmp_path / "root", manifest)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "root/old/crictl").exists() and (tmp_path / "root/new/crictl").exists()


def test_a_missing_artifact_names_the_directory_to_fill(tmp_path):
    line = "kubeadm kubernetes v1.19.1/bin/linux/{arch}/kubeadm file:v1.19.1/bin/linux/{arch}/kubeadm.sha256 bin:/k"
    result = run_script(tmp_path / "empty", tmp_path / "root", line)
    assert result.returncode != 0
    assert f"v1.19.1/bin/linux/{ARCH}/kubeadm is missing from the local kubernetes directory" in result.stderr


def test_pinned_hashes_exist_for_every_architecture_where_publishers_give_none():
    for version in ("1.18.2", "1.19.1", "1.20.2"):
        spec = build_spec({"kubernetesVersion": version}, "x")
        (crictl,) = [a for a in artifacts.node_artifacts(spec) if a.name == "crictl"]
        assert crictl.checksum == "pinned"
        assert all(len(crictl.pinned_sha256(arch)) == 64 for arch in artifacts.ARCHITECTURES)
