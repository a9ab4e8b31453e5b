"""The bundle's download mirror: built binaries laid out exactly as their publishers lay out releases.

Paths and checksum files come from ``kindling/artifacts.py``, the list the node
image installs from, so a stack pointed at the mirror (``kindling:downloads``
set to its directories) finds every file where upstream would have put it, next
to a checksum file in its publisher's format.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from kindling import artifacts
from kindling.spec import ClusterSpec

# The ``kindling:downloads`` source of each mirror, and the chart mirrors besides the node's artifacts.
FLANNEL_SOURCE = "flannel"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reproducible_tarball(destination: Path, members: dict[str, Path]) -> None:
    """A .tar.gz of ``members`` (name in the archive -> file), owned by root, dated 0, in name order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in sorted(members):
            source = members[name]
            info = tarfile.TarInfo(name)
            info.size = source.stat().st_size
            info.mode = 0o755
            with source.open("rb") as handle:
                archive.addfile(info, handle)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(destination, "wb", mtime=0) as compressed:
        compressed.write(buffer.getvalue())


def checksum_text(checksum_path: str, file_name: str, sha256: str) -> str:
    """A checksum file as its publisher writes it: a bare hash in ``.sha256`` files of dl.k8s.io,
    ``<hash>  <name>`` lines everywhere else."""
    if checksum_path.endswith(".sha256") and "/bin/linux/" in checksum_path:
        return f"{sha256}\n"
    return f"{sha256}  {file_name}\n"


def _payload(artifact: artifacts.Artifact, built: dict[str, dict[str, Path]], arch: str) -> dict[str, Path] | Path:
    """What goes into an artifact: one file, or the members of its tarball."""
    if artifact.name in ("kubeadm", "kubelet", "kubectl"):
        return built["kubernetes"][artifact.name]
    if artifact.name == "runc":
        return built["runc"]["runc"]
    if artifact.name == "containerd":
        return dict(built["containerd"])
    if artifact.name == "cni-plugins":
        return dict(built["cni-plugins"])
    if artifact.name == "crictl":
        return {"crictl": built["crictl"]["crictl"]}
    if artifact.name == "helm":
        return {f"linux-{arch}/helm": built["helm"]["helm"]}
    raise KeyError(f"the bundle does not know how to make {artifact.name}")


def write_mirror(spec: ClusterSpec, built: dict[str, dict[str, Path]], root: Path, arch: str) -> dict[str, str]:
    """Lay out every node artifact of ``spec`` below ``root/<source>``; returns {mirror path: sha256}."""
    written: dict[str, str] = {}
    for artifact in artifacts.node_artifacts(spec):
        relative = artifact.path.format(arch=arch)
        target = root / artifact.source / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = _payload(artifact, built, arch)
        if isinstance(payload, dict):
            reproducible_tarball(target, payload)
        else:
            target.write_bytes(payload.read_bytes())
            target.chmod(0o755)
        digest = sha256_of(target)
        written[f"{artifact.source}/{relative}"] = digest
        if not artifact.checksum.startswith("file:"):
            raise ValueError(f"{artifact.name}: a bundle needs a checksum file, not {artifact.checksum}")
        checksum_path = artifact.checksum.removeprefix("file:").format(arch=arch)
        checksum = root / artifact.source / checksum_path
        existing = checksum.read_text() if checksum.is_file() else ""  # runc's list names several files
        checksum.write_text(existing + checksum_text(checksum_path, target.name, digest))
    return written


def write_chart(chart: Path, root: Path, version: str) -> str:
    """The flannel chart where its release page has it: ``<version>/flannel.tgz``."""
    target = root / FLANNEL_SOURCE / version / "flannel.tgz"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(chart.read_bytes())
    return sha256_of(target)
