"""The network of a cluster whose nodes are systemd-nspawn machines: a bridge of its own, on a fixed
subnet, with the iptables rules that let the nodes out and nothing else in (scripts/machine-network.sh)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.shell import on_host, run_script
from kindling.contract import MACHINE_NETWORK_TYPE

# The shell functions machine-network.sh and publish-api-server.sh share (removing their rules).
RULES = "iptables-rules.sh"


@dataclass
class MachineNetworkArgs:
    bridge: str
    subnet: str
    gateway: str


class MachineNetwork(pulumi.ComponentResource):
    def __init__(self, name: str, args: MachineNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(MACHINE_NETWORK_TYPE, name, None, opts)
        prefix = args.subnet.rsplit("/", 1)[1]
        self.bridge_name = args.bridge
        self.bridge = run_script(
            f"{name}-bridge",
            on_host(
                "machine-network.sh", "create", args.bridge, f"{args.gateway}/{prefix}", args.subnet, library=RULES
            ),
            delete=on_host("machine-network.sh", "delete", args.bridge, args.subnet, library=RULES).create,
            # An edited script must not tear down the bridge of running machines; a new subnet makes a new bridge.
            update="true",
            triggers=[args.subnet, args.gateway],
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.register_outputs({"bridge": args.bridge})
