"""Local Docker images to load into every node before kubeadm runs (like `kind load docker-image`).

For hosts without registry access, and for running a component image of one's
own (a patched kube-apiserver, say). Each image is resolved from the local
Docker engine (pulled only if missing, never removed on destroy: it is the
user's), and its id makes the nodes load it again when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from kindling.contract import PRELOADED_IMAGES_TYPE


@dataclass
class PreloadedImagesArgs:
    images: list[str]


class PreloadedImages(pulumi.ComponentResource):
    names: list[str]
    ids: list[pulumi.Output[str]]
    id_of: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PreloadedImagesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(PRELOADED_IMAGES_TYPE, name, None, opts)
        self.names = list(args.images)
        self.ids = [
            docker.RemoteImage(
                f"{name}-{index}",
                name=image,
                keep_locally=True,
                opts=pulumi.ResourceOptions(parent=self),
            ).image_id
            for index, image in enumerate(args.images)
        ]
        self.id_of = dict(zip(self.names, self.ids, strict=True))
        self.register_outputs({"images": self.names})
