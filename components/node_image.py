"""The node image: built from node-image/ at the catalog's versions, or a prebuilt one.

A built image is tagged with the Kubernetes release and a digest of everything
that shaped it (never ``latest``), and is removed again by ``pulumi destroy``.
A prebuilt image (docker_archive's ``ctr_kubernetes-v1.19.1-base``, say) is
the user's: it is pulled if missing and kept on destroy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

BUILD_CONTEXT = Path(__file__).resolve().parent.parent / "node-image"


@dataclass
class NodeImageArgs:
    cluster: str
    kubernetes_version: str
    prebuilt: str | None = None
    base_image: str | None = None
    build_args: dict[str, str] | None = None
    # kindling:downloads sources that are local directories: build context name -> directory.
    artifact_directories: dict[str, str] | None = None


def context_digest(context: Path = BUILD_CONTEXT) -> str:
    """Digest of the build context's files, so an edited Dockerfile or script rebuilds the image."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file() and "artifacts" not in p.parts):
        digest.update(str(path.relative_to(context)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def image_tag(args: NodeImageArgs) -> str:
    shaping = hashlib.sha256(context_digest().encode())
    for key, value in sorted((args.build_args or {}).items()):
        shaping.update(f"{key}={value}\n".encode())
    for key, value in sorted((args.artifact_directories or {}).items()):
        shaping.update(f"{key}={value}\n".encode())
    # One repository per cluster: destroying one cluster never untags an image another still runs.
    return f"kindling/{args.cluster}:v{args.kubernetes_version}-{shaping.hexdigest()[:12]}"


class NodeImage(pulumi.ComponentResource):
    image: docker.RemoteImage
    image_id: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: NodeImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kindling:index:NodeImage", name, None, opts)
        if args.prebuilt:
            self.image = docker.RemoteImage(
                name,
                name=args.prebuilt,
                keep_locally=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            build_args = dict(args.build_args or {})
            build_args["BASE_IMAGE"] = args.base_image or ""
            self.image = docker.RemoteImage(
                name,
                name=image_tag(args),
                build=docker.RemoteImageBuildArgs(
                    context=str(BUILD_CONTEXT),
                    dockerfile="Dockerfile",
                    build_args=build_args,
                    additional_contexts=[
                        f"{context}={directory}"
                        for context, directory in sorted((args.artifact_directories or {}).items())
                    ],
                    # Intermediate containers of a failed build are not left behind.
                    remove=True,
                    force_remove=True,
                ),
                keep_locally=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.image_id = self.image.image_id
        self.name = self.image.name
        self.register_outputs({"name": self.name, "imageId": self.image_id})
