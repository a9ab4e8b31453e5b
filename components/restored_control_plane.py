"""A control plane started from a snapshot: the restore that stands in for kubeadm init.

The node boots from the snapshot's image and /var with its kubelet off; the restore script
(scripts/restore-control-plane.sh) then gives it the stack's own identity before anything runs: a new
CA, certificates, kubeconfigs and service-account key from kubeadm's own phases and the stack's
rendered configuration (previewed and checked by policies as an init's is), etcd's member moved to the
node's address, and what the cluster's etcd still holds of the snapshot's nodes and credentials
deleted. What follows (the kubeconfig, Ready, the node's versions) is a kubeadm init's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.api_server_port import PublishedApiServer
from components.control_plane import POD_CONTAINERS, control_plane_outputs
from components.node import ClusterNode
from components.shell import run_script
from kindling.contract import RESTORE_SCRIPT, RESTORE_STEP, RESTORED_CONTROL_PLANE_TYPE


@dataclass
class RestoredControlPlaneArgs:
    node: ClusterNode
    kubeadm_config: str
    taints_to_remove: tuple[str, ...]
    published: PublishedApiServer
    # The snapshot's node names and its control plane's address: what the restore removes from etcd.
    snapshot_nodes: list[str]
    snapshot_ip: str


class RestoredControlPlane(pulumi.ComponentResource):
    init: command.local.Command
    kubeconfig: pulumi.Output[str]
    node_versions: pulumi.Output[dict[str, str]]
    api_server_url: pulumi.Output[str]

    def __init__(self, name: str, args: RestoredControlPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(RESTORED_CONTROL_PLANE_TYPE, name, None, opts)
        node = self.node = args.node
        self.init = run_script(
            f"{name}-{RESTORE_STEP}",
            node.in_node(
                RESTORE_SCRIPT,
                args.snapshot_ip,
                " ".join(args.snapshot_nodes),
                *args.taints_to_remove,
                library=POD_CONTAINERS,
            ),
            # A restore runs once per node, as kubeadm init does; a new node container restores again.
            update="true",
            stdin=args.kubeadm_config,
            triggers=[node.instance_id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[node.ready]),
        )
        self.ready, self.node_versions, self.kubeconfig, self.api_server_url = control_plane_outputs(
            self, name, node, args.published
        )
        self.register_outputs({"apiServerUrl": self.api_server_url, "kubeconfig": self.kubeconfig})
