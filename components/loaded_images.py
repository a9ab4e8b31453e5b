"""Your own local images in every running node (``kindling:images``), as ``kind load docker-image`` does.

One Command per image, beside the nodes rather than in them: nothing a node or the node image is made
from depends on it, so adding, removing or rebuilding an image never replaces a node. Its inputs are
the image's id on the Docker engine and the node containers' ids, and no triggers (which would
replace it): a rebuilt image (a new id), a worker added later or a replaced node make it run again
as an update, which streams the image once to the nodes that do not hold that id yet
(scripts/images-into-nodes.sh). Removing the entry removes the image from the nodes; destroying the
cluster does not bother, as the nodes go too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.node_container import NodeContainer
from components.shell import on_host, run_script, script
from kindling.contract import LOAD_IMAGE_SCRIPT, LOADED_IMAGE_ID_VARIABLE, LOADED_IMAGE_VARIABLE, LOADED_IMAGES_TYPE


@dataclass
class LoadedImagesArgs:
    # Each image's reference, by the name its nodes give it (the resource's name: the same image written
    # another way stays the same resource), and its id on the Docker engine.
    images: dict[str, tuple[str, str]]  # containerd name -> (reference, image id)
    nodes: list[NodeContainer]
    # What the cluster's life ends with: a Command deleted with it removes nothing from nodes that go too.
    cluster: pulumi.Resource


class LoadedImages(pulumi.ComponentResource):
    loads: dict[str, command.local.Command]

    def __init__(self, name: str, args: LoadedImagesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(LOADED_IMAGES_TYPE, name, None, opts)
        node_names = [node.node_name for node in args.nodes]
        # A replaced node is another container under the same name: it must get the images again.
        containers = pulumi.Output.all(*(node.container.id for node in args.nodes)).apply(" ".join)
        self.loads = {}
        for containerd_name, (reference, image_id) in args.images.items():
            environment = {
                LOADED_IMAGE_VARIABLE: reference,
                LOADED_IMAGE_ID_VARIABLE: image_id,
                "KINDLING_NODE_CONTAINERS": containers,
                "KINDLING_NODE_SCRIPT": script("image-in-node.sh"),
            }
            self.loads[reference] = run_script(
                f"{name}-{containerd_name}",
                on_host(LOAD_IMAGE_SCRIPT, "load", *node_names, environment=environment),
                delete=on_host(LOAD_IMAGE_SCRIPT, "remove", *node_names).create,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[node.ready for node in args.nodes],
                    deleted_with=args.cluster,
                ),
            )
        self.register_outputs({"images": {reference: image_id for reference, image_id in args.images.values()}})
