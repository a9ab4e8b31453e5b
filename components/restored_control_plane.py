"""A control plane started from a snapshot: the restore that stands in for kubeadm init.

The node boots from the snapshot's image and /var with its kubelet off. A first step
(scripts/restore-identity.sh) gives it the stack's own identity before anything runs: a new CA, certificates,
kubeconfigs and service-account key from kubeadm's own phases and the stack's rendered configuration
(previewed and checked by policies as an init's is), and starts the kubelet on them, which starts the control
plane. The workers need no more than that (restored_worker.py), so they restore beside the rest
(scripts/restore-control-plane.sh): etcd's member moved to the node's address, and what the cluster's etcd
still holds of the snapshot's nodes and credentials deleted. What follows (the kubeconfig, Ready, the node's
versions) is a kubeadm init's. Each restored node is held (tainted) until its pod network serves
(scripts/restore-pod-network.sh, pod_network_served).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.api_server_port import PublishedApiServer
from components.control_plane import POD_CONTAINERS, control_plane_outputs
from components.node import ClusterNode
from components.shell import run_script
from kindling.contract import (
    POD_NETWORK_HOLD_TAINT,
    POD_NETWORK_READY_FILES,
    RESTORE_IDENTITY_SCRIPT,
    RESTORE_IDENTITY_STEP,
    RESTORE_NETWORK_SCRIPT,
    RESTORE_NETWORK_STEP,
    RESTORE_SCRIPT,
    RESTORE_STEP,
    RESTORE_WAITS,
    RESTORED_CONTROL_PLANE_TYPE,
    RESTORED_KUBELET,
)


@dataclass
class RestoredControlPlaneArgs:
    node: ClusterNode
    kubeadm_config: str
    taints_to_remove: tuple[str, ...]
    published: PublishedApiServer
    # The snapshot's node names and its control plane's address: what the restore removes from etcd.
    snapshot_nodes: list[str]
    snapshot_ip: str
    # The pod network (kindling:cni): whether, and until what, restored nodes are held (contract.py).
    cni: str


def pod_network_served(
    parent: pulumi.Resource,
    name: str,
    control_plane: ClusterNode,
    node: ClusterNode,
    ready_file: str,
    registered: pulumi.Resource,
    after: list[pulumi.Resource] | None = None,
) -> command.local.Command:
    """Lifts the hold on restored ``node`` (registered by ``registered``) once its pod network serves, and
    not before ``after``."""
    return run_script(
        f"{name}-{RESTORE_NETWORK_STEP}",
        node.on_host(
            RESTORE_NETWORK_SCRIPT, control_plane.node_name, node.node_name, ready_file, POD_NETWORK_HOLD_TAINT
        ),
        update="true",
        triggers=[registered.id],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[registered, *(after or [])]),
    )


class RestoredControlPlane(pulumi.ComponentResource):
    identity: command.local.Command
    init: command.local.Command
    kubeconfig: pulumi.Output[str]
    node_versions: pulumi.Output[dict[str, str]]
    api_server_url: pulumi.Output[str]

    def __init__(self, name: str, args: RestoredControlPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(RESTORED_CONTROL_PLANE_TYPE, name, None, opts)
        node = self.node = args.node
        # What the pod network's agent writes on a node once it serves (None: no hold).
        self.pod_network_ready_file = POD_NETWORK_READY_FILES.get(args.cni)
        hold = POD_NETWORK_HOLD_TAINT if self.pod_network_ready_file else ""
        # A restore runs once per node, as kubeadm init does; a new node container restores again. The
        # identity's keys need nothing of systemd's boot, and are made beside it (the script waits for
        # systemd and containerd where it needs them): the kubelet starts a second sooner. The kubelet
        # starts in this step too, as soon as the keys are made: the next step would start it only after
        # Pulumi had seen this one end.
        self.identity = run_script(
            f"{name}-{RESTORE_IDENTITY_STEP}",
            node.in_node(RESTORE_IDENTITY_SCRIPT, hold, library=(POD_CONTAINERS, RESTORE_WAITS, RESTORED_KUBELET)),
            update="true",
            stdin=args.kubeadm_config,
            triggers=[node.instance_id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[node.started]),
        )
        self.init = run_script(
            f"{name}-{RESTORE_STEP}",
            node.in_node(
                RESTORE_SCRIPT,
                args.snapshot_ip,
                " ".join(args.snapshot_nodes),
                hold,
                *args.taints_to_remove,
                library=(RESTORE_WAITS,),
            ),
            update="true",
            stdin=args.kubeadm_config,
            triggers=[node.instance_id],
            # Not after the node's wait for its boot, which looks once a second: the script looks itself.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.identity]),
        )
        self.ready, self.node_versions, self.kubeconfig, self.api_server_url = control_plane_outputs(
            self, name, node, args.published
        )
        self.pod_network_served: list[pulumi.Resource] = []
        if self.pod_network_ready_file:
            self.pod_network_served.append(
                pod_network_served(self, name, node, node, self.pod_network_ready_file, self.init)
            )
        self.register_outputs({"apiServerUrl": self.api_server_url, "kubeconfig": self.kubeconfig})
