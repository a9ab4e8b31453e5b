"""The cluster's own Docker network: a fixed subnet, so every node keeps its address.

kubeadm writes node addresses into certificates and etcd's member list; a node
that comes back from a Docker or host restart with another address breaks the
cluster (a long-standing kind complaint). Fixed addresses avoid that.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from kindling.contract import LABEL_CLUSTER, NODE_NETWORK_TYPE


@dataclass
class NodeNetworkArgs:
    cluster: str
    subnet: str
    gateway: str


class NodeNetwork(pulumi.ComponentResource):
    network: docker.Network
    name: pulumi.Output[str]

    def __init__(self, name: str, args: NodeNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(NODE_NETWORK_TYPE, name, None, opts)
        self.network = docker.Network(
            name,
            name=args.cluster,
            driver="bridge",
            ipam_configs=[docker.NetworkIpamConfigArgs(subnet=args.subnet, gateway=args.gateway)],
            # Nodes reach registries and chart repositories through the host.
            options={"com.docker.network.bridge.enable_ip_masquerade": "true"},
            labels=[docker.NetworkLabelArgs(label=LABEL_CLUSTER, value=args.cluster)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.network.name
        self.register_outputs({"name": self.name, "subnet": args.subnet})
