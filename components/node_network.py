"""The cluster's own Docker network: a fixed subnet, so every node keeps its address.

kubeadm writes node addresses into certificates and etcd's member list; a node
that comes back from a Docker or host restart with another address breaks the
cluster (a long-standing kind complaint). Fixed addresses avoid that.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.shell import on_host, run_script
from kindling.contract import LABEL_CLUSTER, NODE_NETWORK_SCRIPT, NODE_NETWORK_TYPE


@dataclass
class NodeNetworkArgs:
    cluster: str
    subnet: str
    gateway: str
    # Whether the nodes attach as soon as the network exists (scripts/node-network.sh says why), rather than
    # once pulumi-docker has read it back, two seconds later. Only a restore's nodes have nothing else to wait
    # for that long; a normal stack's build their image meanwhile, and keep the graph they were made with.
    attach_when_made: bool = False


class NodeNetwork(pulumi.ComponentResource):
    network: docker.Network
    name: pulumi.Output[str]
    nodes_after: list[pulumi.Resource]

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
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.attach_when_made or None),
        )
        # What nodes attach to, and what they are made after. The resource's name carries the resource; with
        # attach_when_made they are made after the Command that sees the network exist, which is deleted
        # after them and removes it. The name stays known at a preview either way: an unknown one would
        # replace the nodes of a stack restored before the Command was there.
        self.name = self.network.name
        self.nodes_after = []
        if args.attach_when_made:
            made = run_script(
                f"{name}-made",
                on_host(NODE_NETWORK_SCRIPT, "made", args.cluster),
                delete=on_host(NODE_NETWORK_SCRIPT, "remove", args.cluster).create,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.name = pulumi.Output.from_input(args.cluster)
            self.nodes_after = [made]
        self.register_outputs({"name": self.name, "subnet": args.subnet})
