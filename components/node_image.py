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
    for path in sorted(p for p in context.rglob("*") if p.is_file() and "artifacts" not in p.parts):
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


def image_tag(args: NodeImageArgs) -> str:
    shaping = hashlib.sha256(context_digest().encode())
    for key, value in sorted(args.build_args().items()):
        shaping.update(f"{key}={value}\n".encode())
    shaping.update(_local_files_digest(args.local_artifacts).encode())
    # One repository per cluster: destroying one cluster never untags an image another still runs.
    return f"kindling/{args.cluster}:v{args.kubernetes_version}-{shaping.hexdigest()[:12]}"


def staged_contexts_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kindling" / "node-image-contexts"


def staged_context(cluster: str, local_artifacts: dict[str, Path]) -> Path:
    """Where node-image/ plus the local artifact files are staged as one build context, by content.

    Named build contexts would avoid the copy but need Docker 23 or later; this works with any
    BuildKit. Nothing is written here: stage-context.sh stages it when the image is built.
    """
    key = hashlib.sha256((context_digest() + _local_files_digest(local_artifacts)).encode()).hexdigest()[:16]
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
            context = BUILD_CONTEXT
            depends_on: list[pulumi.Resource] = []
            if args.local_artifacts:
                context = staged_context(args.cluster, args.local_artifacts)
                # The staged context belongs to this stack: made when the image is built, replaced with it
                # (a new path), removed by destroy.
                depends_on.append(
                    run_script(
                        f"{name}-staged-context",
                        on_host(
                            "stage-context.sh",
                            str(context),
                            str(BUILD_CONTEXT),
                            environment={"KINDLING_STAGED_FILES": staged_files(args.local_artifacts)},
                        ),
                        delete=f"rm -rf {shlex.quote(str(context))}",
                        triggers=[str(context)],
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            self.image = docker.RemoteImage(
                name,
                name=image_tag(args),
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
        self.name = self.image.name
        self.register_outputs({"name": self.name, "imageId": self.image_id})
