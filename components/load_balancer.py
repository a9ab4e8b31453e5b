"""The API server load balancer of a cluster with several control planes: HAProxy in a container.

Its image is built here, from load-balancer-image/ on the node image's base image, with the
HAProxy configuration baked in; it is tagged by what shaped it and removed by destroy. The
container sits on the cluster's network at a fixed address and alone publishes the API server
port on the host, so clients keep one address whichever control plane answers. It runs nothing
privileged: it is labelled with the cluster but is no node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.api_server_port import ApiServerPublishing, PublishedApiServer, publish_api_server
from components.build_cache import build_started, image_id_after
from components.node_image import context_digest
from kindling.contract import HAPROXY_CONFIG_ARG, LABEL_CLUSTER, LABEL_ROLE, LOAD_BALANCER_ROLE, LOAD_BALANCER_TYPE

BUILD_CONTEXT = Path(__file__).resolve().parent.parent / "load-balancer-image"


@dataclass
class ApiServerLoadBalancerArgs:
    name: str  # the container's, which the nodes' kubeadm configuration names as the API endpoint
    cluster: str
    base_image: str
    apt_mirror: str | None
    haproxy_config: str
    network: pulumi.Input[str]
    ip: str
    api_server: ApiServerPublishing
    # Keep the image build's BuildKit cache on destroy (kindling:keepBuildCache), as for the node image.
    keep_build_cache: bool = False

    def build_args(self) -> dict[str, str]:
        return {
            "BASE_IMAGE": self.base_image,
            "APT_MIRROR": self.apt_mirror or "",
            HAPROXY_CONFIG_ARG: self.haproxy_config,
        }


def image_tag(args: ApiServerLoadBalancerArgs) -> str:
    shaping = hashlib.sha256(context_digest(BUILD_CONTEXT).encode())
    for key, value in sorted(args.build_args().items()):
        shaping.update(f"{key}={value}\n".encode())
    return f"kindling/{args.name}:haproxy-{shaping.hexdigest()[:12]}"


class ApiServerLoadBalancer(pulumi.ComponentResource):
    image: docker.RemoteImage
    container: docker.Container
    published: PublishedApiServer

    def __init__(self, name: str, args: ApiServerLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(LOAD_BALANCER_TYPE, name, None, opts)
        tag = image_tag(args)
        started = None if args.keep_build_cache else build_started(f"{name}-image", tag, self, [])
        self.image = docker.RemoteImage(
            f"{name}-image",
            name=tag,
            build=docker.RemoteImageBuildArgs(
                context=str(BUILD_CONTEXT),
                dockerfile="Dockerfile",
                build_args=args.build_args(),
                remove=True,
                force_remove=True,
            ),
            keep_locally=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[started] if started else []),
        )
        image_id = (
            self.image.image_id if started is None else image_id_after(f"{name}-image", self.image, started, self)
        )
        self.published, port = publish_api_server(name, args.api_server, self)
        self.container = docker.Container(
            name,
            name=args.name,
            hostname=args.name,
            image=image_id,
            labels=[
                docker.ContainerLabelArgs(label=LABEL_CLUSTER, value=args.cluster),
                docker.ContainerLabelArgs(label=LABEL_ROLE, value=LOAD_BALANCER_ROLE),
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network, ipv4_address=args.ip)],
            ports=[port],
            # Back after a crash and after a Docker or host restart, like the nodes behind it.
            restart="unless-stopped",
            # HAProxy stops at once on SIGTERM; nothing is lost, the API servers hold the state.
            destroy_grace_seconds=0,
            must_run=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                # The name and the fixed address are taken until the old one is gone.
                delete_before_replace=True,
            ),
        )
        self.register_outputs({"containerName": self.container.name, "ip": args.ip})
