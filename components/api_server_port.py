"""The API server's port on the host: published by exactly one container (the control plane, or the
load balancer in front of several), on one host address, at a port that never moves."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.shell import on_host, run_script
from kindling.contract import API_SERVER_PORT


@dataclass(frozen=True)
class ApiServerPublishing:
    address: str
    port: int | None  # None: a free host port is chosen once, at creation


@dataclass(frozen=True)
class PublishedApiServer:
    """Where clients on the host find the API server."""

    address: str
    host_port: pulumi.Output[int]


def publish_api_server(
    name: str, publishing: ApiServerPublishing, parent: pulumi.Resource
) -> tuple[PublishedApiServer, docker.ContainerPortArgs]:
    """The host port (claimed by a Command ``<name>-api-server-port`` when none is given) and the
    container port that publishes it."""
    host_port: pulumi.Input[int]
    if publishing.port is None:
        # Chosen once and kept in the state: stable across restarts, unlike a port Docker picks.
        claim = run_script(
            f"{name}-api-server-port",
            on_host("free-port.sh", publishing.address),
            # Never a new port for a running cluster, even when the script is edited.
            update='printf "%s" "$PULUMI_COMMAND_STDOUT"',
            opts=pulumi.ResourceOptions(parent=parent),
        )
        host_port = claim.stdout.apply(lambda text: int(text.strip()))
    else:
        host_port = publishing.port
    published = PublishedApiServer(publishing.address, pulumi.Output.from_input(host_port))
    port = docker.ContainerPortArgs(internal=API_SERVER_PORT, ip=publishing.address, external=host_port, protocol="tcp")
    return published, port
