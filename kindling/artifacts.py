"""Where every binary of a node image comes from, and how it is verified.

Each artifact is a path below one download base (``kindling:downloads``), so a
mirror only has to copy upstream's layout. The image build checks every file's
sha256 against the checksum file its publisher puts beside it; where a
publisher put none (crictl before 1.21), the hash is pinned here.

Paths contain ``{arch}`` (amd64 or arm64), filled in by the build for the
Docker engine's architecture.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kindling import catalog
from kindling.config import SpecError
from kindling.host import RELEASE_ARCHITECTURES
from kindling.spec import ClusterSpec
from kindling.versions import parse_release

# Publishers that shipped no checksum file for these artifacts. Values are the
# upstream release hashes as recorded by kind (images/base/Dockerfile at
# 4e159b08) and kubespray (roles/download/defaults/main.yml at f055ba79).
PINNED_SHA256 = {
    "crictl-v1.18.0-linux-amd64.tar.gz": "876dd2b3d0d1c2590371f940fb1bf1fbd5f15aebfbe456703ee465d959700f4a",
    "crictl-v1.18.0-linux-arm64.tar.gz": "95ba32c47ad690b1e3e24f60255273dd7d176e62b1a0b482e5b44a7c31639979",
    "crictl-v1.19.0-linux-amd64.tar.gz": "87d8ef70b61f2fe3d8b4a48f6f712fd798c6e293ed3723c1e4bbb5052098f0ae",
    "crictl-v1.19.0-linux-arm64.tar.gz": "ec040d14ca03e8e4e504a85dae5353e04b5d9d8aea3df68699258992c0eb8d88",
}
ARCHITECTURES = ("amd64", "arm64")


@dataclass(frozen=True)
class Artifact:
    name: str
    source: str  # a key of kindling:downloads
    path: str  # below the source's base; {arch} is filled in at build time
    checksum: str  # "file:<path below the base>" or "pinned"
    install: str  # what the build does with it, see node-image/install-artifacts.sh

    def pinned_sha256(self, arch: str) -> str:
        return PINNED_SHA256[self.path.rsplit("/", 1)[-1].format(arch=arch)]

    def manifest_line(self) -> str:
        checksum = self.checksum
        if checksum == "pinned":
            checksum = "pinned:" + ",".join(f"{arch}={self.pinned_sha256(arch)}" for arch in ARCHITECTURES)
        return " ".join((self.name, self.source, self.path, checksum, self.install))


def _kubernetes(spec: ClusterSpec) -> list[Artifact]:
    release = f"v{spec.kubernetes}/bin/linux/{{arch}}"
    return [
        Artifact(
            binary, "kubernetes", f"{release}/{binary}", f"file:{release}/{binary}.sha256", f"bin:/usr/bin/{binary}"
        )
        for binary in ("kubeadm", "kubelet", "kubectl")
    ]


def _containerd(version: str) -> Artifact:
    # Until 1.4 the tarball name had a dot before the platform.
    separator = "." if parse_release(version) < parse_release("1.4.0") else "-"
    path = f"v{version}/containerd-{version}{separator}linux-{{arch}}.tar.gz"
    return Artifact("containerd", "containerd", path, f"file:{path}.sha256sum", "untar:/usr/local")


def _runc(version: str) -> Artifact:
    # runc.sha256sum is clear-signed and lists every release file; the build picks our line.
    return Artifact(
        "runc", "runc", f"v{version}/runc.{{arch}}", f"file:v{version}/runc.sha256sum", "bin:/usr/local/sbin/runc"
    )


def _cni_plugins(version: str) -> Artifact:
    path = f"v{version}/cni-plugins-linux-{{arch}}-v{version}.tgz"
    return Artifact("cni-plugins", "cniPlugins", path, f"file:{path}.sha256", "untar:/opt/cni/bin")


def _crictl(version: str) -> Artifact | None:
    if version == catalog.NOT_INSTALLED:
        return None
    path = f"v{version}/crictl-v{version}-linux-{{arch}}.tar.gz"
    published = parse_release(version) >= parse_release("1.21.0")
    return Artifact("crictl", "crictl", path, f"file:{path}.sha256" if published else "pinned", "untar:/usr/local/bin")


def _helm(version: str) -> Artifact:
    path = f"helm-v{version}-linux-{{arch}}.tar.gz"
    return Artifact(
        "helm", "helm", path, f"file:{path}.sha256sum", "untar-member:linux-{arch}/helm:/usr/local/bin/helm"
    )


def node_artifacts(spec: ClusterSpec) -> list[Artifact]:
    """Everything the node image installs from upstream releases, in install order."""
    components = spec.components
    chosen = [
        *_kubernetes(spec),
        _containerd(components.containerd),
        _runc(components.runc),
        _cni_plugins(components.cni_plugins),
        _crictl(components.crictl),
        _helm(components.helm),
    ]
    return [artifact for artifact in chosen if artifact is not None]


def manifest(chosen: list[Artifact]) -> str:
    """KINDLING_ARTIFACTS: the lines node-image/install-artifacts.sh installs, in order."""
    return "\n".join(artifact.manifest_line() for artifact in chosen)


def is_directory(base: str) -> bool:
    return base.startswith(("file://", "/"))


def download_sources(spec: ClusterSpec, node_artifacts: list[Artifact]) -> str:
    """KINDLING_DOWNLOAD_SOURCES: each source the artifacts come from, with its base URL, or ``dir``
    for a local directory (its files are copied into the build context instead)."""
    downloads = spec.downloads.model_dump(by_alias=True)
    return "\n".join(
        f"{source} {'dir' if is_directory(downloads[source]) else downloads[source]}"
        for source in dict.fromkeys(artifact.source for artifact in node_artifacts)
    )


def local_artifacts(spec: ClusterSpec, node_artifacts: list[Artifact], architecture: str) -> dict[str, Path]:
    """The files the image build reads from local download directories, by their path in the build
    context; raises SpecError naming each one that is missing, before anything is created."""
    arch = RELEASE_ARCHITECTURES[architecture]
    downloads = spec.downloads.model_dump(by_alias=True)
    found, missing = {}, []
    for artifact in node_artifacts:
        base = downloads[artifact.source]
        if not is_directory(base):
            continue
        directory = Path(base.removeprefix("file://"))
        paths = [artifact.path]
        if artifact.checksum.startswith("file:"):
            paths.append(artifact.checksum.removeprefix("file:"))
        for path in (template.format(arch=arch) for template in paths):
            if (directory / path).is_file():
                found[f"artifacts/{artifact.source}/{path}"] = directory / path
            else:
                missing.append(f"kindling:downloads.{artifact.source}: {directory} has no {path}")
    if missing:
        raise SpecError(missing)
    return found
