"""The node image: built from node-image/ at the catalog's versions, or a prebuilt one.

A built image is tagged with the Kubernetes release and a digest of everything
that shaped it (never ``latest``), and is removed again by ``pulumi destroy``.
A prebuilt image (docker_archive's ``ctr_kubernetes-v1.19.1-base``, say) is
the user's: it is pulled if missing and kept on destroy.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.build_cache import build_started, image_id_after
from components.preloaded_images import PreloadedImages
from components.shell import on_host, run_script
from kindling.contract import NODE_IMAGE_TYPE

BUILD_CONTEXT = Path(__file__).resolve().parent.parent / "node-image"


@dataclass
class NodeImageArgs:
    """What node-image/Dockerfile is built from (its build arguments), or a prebuilt image."""

    cluster: str
    kubernetes_version: str
    prebuilt: str | None = None
    base_image: str | None = None
    # The artifacts install-artifacts.sh installs, one "name source path checksum install" a line,
    # and where each source's files come from, one "source <base URL, or dir>" a line.
    artifacts_manifest: str = ""
    download_sources: str = ""
    cgroup_driver: str = "systemd"
    pause_image: str = ""
    containerd_config_version: int = 2
    apt_mirror: str | None = None
    # containerd before 1.5 runs runc through runc-within-bounds (node-image/configure-node.sh).
    runc_within_bounds: bool = False
    # Files of kindling:downloads sources that are local directories: path in the build
    # context (artifacts/<source>/<upstream path>) -> the file on this machine.
    local_artifacts: dict[str, Path] = field(default_factory=dict)
    # Local images baked into the image's containerd (node-image/bake-images.sh), so that no node
    # loads them at start. Not for a prebuilt image: that one is the user's, nodes load them instead.
    preloaded: PreloadedImages | None = None
    # Keep the build's BuildKit cache on destroy: the next build of the same image is then quick.
    keep_build_cache: bool = False

    def build_args(self) -> dict[str, str]:
        """node-image/Dockerfile's build arguments but BASE_IMAGE (which the tag need not hash)."""
        args = {
            "KUBERNETES_VERSION": self.kubernetes_version,
            "KINDLING_ARTIFACTS": self.artifacts_manifest,
            "KINDLING_DOWNLOADS": self.download_sources,
            "CGROUP_DRIVER": self.cgroup_driver,
            "PAUSE_IMAGE": self.pause_image,
            "CONTAINERD_CONFIG_VERSION": str(self.containerd_config_version),
            "APT_MIRROR": self.apt_mirror or "",
        }
        if self.runc_within_bounds:
            # Only where needed: an added build argument changes the image (and so every node) of a stack.
            args["RUNC_WITHIN_BOUNDS"] = "true"
        return args


def context_digest(context: Path = BUILD_CONTEXT) -> str:
    """Digest of the build context's files, so an edited Dockerfile or script rebuilds the image."""
    digest = hashlib.sha256()
    staged = ("artifacts", "images")  # filled only in a staged context, hashed by what fills them
    files = (p for p in context.rglob("*") if p.is_file() and not staged_dir(p.relative_to(context), staged))
    for path in sorted(files):
        digest.update(str(path.relative_to(context)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# Files up to this size are hashed whole; larger ones are release artifacts whose sha256 is in a
# checksum file beside them (hashed whole here) or in the build arguments (pinned hashes).
_HASHED_WHOLE = 1 << 20


def _local_files_digest(local_artifacts: dict[str, Path]) -> str:
    """Content, not timestamps: the same files laid out again (make bundle, a copied mirror) must not
    rebuild the image, which would replace every node of a running cluster."""
    digest = hashlib.sha256()
    for destination, source in sorted(local_artifacts.items()):
        size = source.stat().st_size
        digest.update(f"{destination} {size}\n".encode())
        if size <= _HASHED_WHOLE:
            digest.update(source.read_bytes())
    return digest.hexdigest()


def staged_dir(relative: Path, names: tuple[str, ...]) -> bool:
    return bool(relative.parts) and relative.parts[0] in names


def _images_digest(images: list[str]) -> str:
    """Baked images (names or ids), in the stack's order; "" when none, so such tags stay as they were."""
    return "" if not images else hashlib.sha256("\n".join(images).encode()).hexdigest()


def image_tag(args: NodeImageArgs, image_ids: list[str] | None = None) -> str:
    shaping = hashlib.sha256(context_digest().encode())
    for key, value in sorted(args.build_args().items()):
        shaping.update(f"{key}={value}\n".encode())
    shaping.update(_local_files_digest(args.local_artifacts).encode())
    shaping.update(_images_digest(image_ids or []).encode())
    # One repository per cluster: destroying one cluster never untags an image another still runs.
    return f"kindling/{args.cluster}:v{args.kubernetes_version}-{shaping.hexdigest()[:12]}"


def staged_contexts_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kindling" / "node-image-contexts"


def staged_context(cluster: str, local_artifacts: dict[str, Path], baked_images: list[str] | None = None) -> Path:
    """Where node-image/ plus the local artifact files are staged as one build context, by content.

    Named build contexts would avoid the copy but need Docker 23 or later; this works with any
    BuildKit. Nothing is written here: stage-context.sh stages it when the image is built.
    """
    shaping = context_digest() + _local_files_digest(local_artifacts) + _images_digest(baked_images or [])
    key = hashlib.sha256(shaping.encode()).hexdigest()[:16]
    return staged_contexts_root() / f"{cluster}-{key}"


def staged_files(local_artifacts: dict[str, Path]) -> str:
    """KINDLING_STAGED_FILES for stage-context.sh: one "<path in the context><TAB><file>" a line."""
    return "".join(f"{destination}\t{source}\n" for destination, source in sorted(local_artifacts.items()))


class NodeImage(pulumi.ComponentResource):
    image: docker.RemoteImage
    image_id: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: NodeImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(NODE_IMAGE_TYPE, name, None, opts)
        if args.prebuilt:
            self.image = docker.RemoteImage(
                name,
                name=args.prebuilt,
                keep_locally=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            build_args = {**args.build_args(), "BASE_IMAGE": args.base_image or ""}
            baked = args.preloaded.names if args.preloaded else []
            baked_ids = args.preloaded.ids if args.preloaded else []
            context = BUILD_CONTEXT
            depends_on: list[pulumi.Resource] = []
            # Tagged by what the baked images are, too: a changed image builds (and runs) a new node image.
            tag: pulumi.Input[str] = (
                pulumi.Output.all(*baked_ids).apply(lambda ids: image_tag(args, list(ids)))
                if baked_ids
                else image_tag(args)
            )
            if args.local_artifacts or baked:
                context = staged_context(args.cluster, args.local_artifacts, baked)
                environment: dict[str, pulumi.Input[str]] = {
                    "KINDLING_STAGED_FILES": staged_files(args.local_artifacts),
                    "KINDLING_STAGED_IMAGES": "\n".join(baked),
                }
                if args.keep_build_cache:
                    # Kept with the build cache, and used again as it is for the same image: a context staged
                    # anew costs the docker save and BuildKit's transfer and hashing of a gigabyte.
                    environment["KINDLING_STAGED_STAMP"] = tag
                # The staged context belongs to this stack: made when the image is built, made again when a
                # baked image changes (removed first: the path stays), removed by destroy unless kept.
                depends_on.append(
                    run_script(
                        f"{name}-staged-context",
                        on_host("stage-context.sh", str(context), str(BUILD_CONTEXT), environment=environment),
                        delete=None if args.keep_build_cache else f"rm -rf {shlex.quote(str(context))}",
                        triggers=[str(context), *baked_ids],
                        opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
                    )
                )
            if not args.keep_build_cache:
                started = build_started(name, tag, self, depends_on)
                depends_on.append(started)
            self.image = docker.RemoteImage(
                name,
                name=tag,
                build=docker.RemoteImageBuildArgs(
                    context=str(context),
                    dockerfile="Dockerfile",
                    build_args=build_args,
                    # Intermediate containers of a failed build are not left behind.
                    remove=True,
                    force_remove=True,
                ),
                keep_locally=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            )
        self.image_id = self.image.image_id
        if not args.prebuilt and not args.keep_build_cache:
            self.image_id = image_id_after(name, self.image, started, self)
        self.name = self.image.name
        self.register_outputs({"name": self.name, "imageId": self.image_id})
