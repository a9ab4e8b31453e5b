"""Local Docker images of a bundle: the node's Debian base, and every image kubeadm and flannel run.

No registry is reachable here, so each image is built from the bundle's own
binaries under the exact name kubeadm (``kubeadm config images list``) or the
flannel chart asks for. Static binaries go into images with nothing else in
them, as upstream's distroless images; kube-proxy and flannel, which drive
iptables, sit on the Debian base with iptables and a wrapper that picks the
backend the node already uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bundle.errors import BuildError
from bundle.gotool import run_logged
from bundle.mirror import sha256_of

IMAGE_FILES = Path(__file__).resolve().parent / "image-files"
LABEL_KEY = "io.kindling.bundle.key"
LABEL_SUITE = "io.kindling.debian-suite"
PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ImageRecipe:
    """One image: its Dockerfile and the files its build context holds (name in context -> file)."""

    reference: str
    dockerfile: str
    files: dict[str, Path] = field(default_factory=dict)
    source: str = ""  # what it is built from, for the manifest

    def key(self, base_id: str) -> str:
        digest = hashlib.sha256(self.dockerfile.encode())
        digest.update(base_id.encode())
        for name, path in sorted(self.files.items()):
            digest.update(f"{name} {sha256_of(path)}\n".encode())
        return digest.hexdigest()[:16]


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise BuildError(f"docker {args[0]}", (result.stderr or result.stdout).strip().splitlines()[-5:])
    return result


def image_labels(reference: str) -> dict[str, str] | None:
    found = docker("image", "inspect", "--format", "{{json .Config.Labels}}", reference, check=False)
    if found.returncode != 0:
        return None
    return json.loads(found.stdout) or {}


def image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()


def build_image(recipe: ImageRecipe, base_id: str, log: Path) -> str:
    """Build ``recipe`` unless an image of that name was built from exactly these inputs; returns its id."""
    key = recipe.key(base_id)
    labels = image_labels(recipe.reference)
    if (labels or {}).get(LABEL_KEY) == key:
        return image_id(recipe.reference)
    previous = image_id(recipe.reference) if labels is not None else None
    with tempfile.TemporaryDirectory(prefix="kindling-image-") as context:
        root = Path(context)
        (root / "Dockerfile").write_text(recipe.dockerfile)
        for name, path in recipe.files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, root / name)
        command = ["docker", "build", "--quiet", "--label", f"{LABEL_KEY}={key}", "-t", recipe.reference, str(root)]
        run_logged(command, root, log, f"image {recipe.reference} ({recipe.source})")
    built = image_id(recipe.reference)
    if previous and previous != built:  # the name moved on: drop the old image unless something uses it
        docker("image", "rm", previous, check=False)
    return built


def base_image(suite: str, cache: Path, log: Path, mirror: str) -> str:
    """``kindling/debian:<suite>-<archive date>``, made with debootstrap unless one exists already."""
    found = docker("images", "--filter", f"label={LABEL_SUITE}={suite}", "--format", "{{.Repository}}:{{.Tag}}")
    existing = sorted(line for line in found.stdout.split() if line.startswith("kindling/debian:"))
    if existing:
        return existing[-1]
    if shutil.which("debootstrap") is None:
        raise BuildError(f"base image Debian {suite}", ["debootstrap is not installed: apt-get install debootstrap"])
    rootfs = cache / "rootfs" / suite
    shutil.rmtree(rootfs, ignore_errors=True)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    what = f"base image Debian {suite} (debootstrap from {mirror})"
    run_logged(["debootstrap", "--variant=minbase", suite, str(rootfs), mirror], cache, log, what)
    release = next((rootfs / "var/lib/apt/lists").glob("*_InRelease"), None)
    date = _release_date(release.read_text(errors="replace")) if release else "undated"
    tag = f"kindling/debian:{suite}-{date}"
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    changes = ["--change", f"LABEL {LABEL_SUITE}={suite}", "--change", 'CMD ["/bin/bash"]']
    imported = subprocess.run(
        ["docker", "import", *changes, "-", tag], stdin=tar.stdout, capture_output=True, text=True
    )
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)
    if imported.returncode != 0 or tar.returncode != 0:
        raise BuildError(what, imported.stderr.strip().splitlines()[-5:])
    return tag


def _release_date(in_release: str) -> str:
    """``Date: Sat, 15 Nov 2025 09:07:53 UTC`` -> ``20251115``."""
    from email.utils import parsedate_to_datetime

    for line in in_release.splitlines():
        if line.startswith("Date:"):
            return parsedate_to_datetime(line.removeprefix("Date:").strip()).strftime("%Y%m%d")
    return "undated"


def static_image(
    reference: str, binaries: dict[str, Path], entrypoint: str | None, source: str, user: str = ""
) -> ImageRecipe:
    """Binaries and nothing else, as distroless images hold them: a writable /tmp and a root user."""
    lines = ["FROM scratch", "COPY rootfs/ /"]
    files = {"rootfs/etc/passwd": IMAGE_FILES / "passwd", "rootfs/etc/group": IMAGE_FILES / "group"}
    for target, path in binaries.items():
        files[f"rootfs{target}"] = path
    lines += [PATH_ENV, "WORKDIR /"]
    if user:
        lines.append(f"USER {user}")
    if entrypoint:
        lines.append(f'ENTRYPOINT ["{entrypoint}"]')
    return ImageRecipe(reference, "\n".join(lines) + "\n", files, source)


def iptables_image(
    reference: str, base: str, binaries: dict[str, Path], entrypoint: str | None, source: str, packages: tuple[str, ...]
) -> ImageRecipe:
    """Binaries on the Debian base with iptables whose backend follows the node's (iptables-wrapper)."""
    files = {"iptables-wrapper": IMAGE_FILES / "iptables-wrapper"}
    lines = [
        f"FROM {base}",
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        + " ".join(packages)
        + " && apt-get clean && rm -rf /var/lib/apt/lists/*",
        "COPY iptables-wrapper /usr/sbin/iptables-wrapper",
        "RUN /usr/sbin/iptables-wrapper --install",
    ]
    for target, path in binaries.items():
        files[f"bin/{path.name}"] = path
        lines.append(f"COPY bin/{path.name} {target}")
    lines.append(PATH_ENV)
    if entrypoint:
        lines.append(f'ENTRYPOINT ["{entrypoint}"]')
    return ImageRecipe(reference, "\n".join(lines) + "\n", files, source)


def debian_mirror() -> str:
    return os.environ.get("KINDLING_DEBIAN_MIRROR", "http://deb.debian.org/debian")
