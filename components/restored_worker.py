"""A worker started from a snapshot: the restore that stands in for kubeadm join.

The control plane, once it has its new CA (restored_control_plane.py's identity), makes the worker's kubelet
kubeconfig with it, from the stack's configuration with the worker's name; scripts/restore-worker.sh hands it
to the worker through its own process only, and the worker's kubelet starts and registers under its own name,
held until its pod network serves (restored_control_plane.py's pod_network_served).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.control_plane import POD_CONTAINERS
from components.node import ClusterNode
from components.restored_control_plane import RestoredControlPlane, pod_network_served
from components.shell import node_script, run_script
from kindling.contract import POD_NETWORK_HOLD_TAINT, RESTORE_WORKER_SCRIPT, RESTORED_KUBELET, RESTORED_WORKER_TYPE


@dataclass
class RestoredWorkerArgs:
    control_plane: RestoredControlPlane
    worker: ClusterNode
    # kubeadm's configuration naming the worker: what its kubelet kubeconfig is made from.
    kubelet_config: str
    node_ip: str
    provider_id: str


class RestoredWorker(pulumi.ComponentResource):
    join: command.local.Command

    def __init__(self, name: str, args: RestoredWorkerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(RESTORED_WORKER_TYPE, name, None, opts)
        self.join = run_script(
            f"{name}-restore",
            args.worker.on_host(
                RESTORE_WORKER_SCRIPT,
                args.control_plane.node.node_name,
                args.worker.node_name,
                args.node_ip,
                args.provider_id,
                POD_NETWORK_HOLD_TAINT if args.control_plane.pod_network_ready_file else "",
                environment=node_script("restore-worker-node.sh", library=(POD_CONTAINERS, RESTORED_KUBELET)),
            ),
            update="true",
            stdin=args.kubelet_config,
            # A new worker container, or a control plane with a new identity, means restoring again. Beside
            # the rest of the control plane's restore: the worker's kubelet has settled by the time its pods
            # are made anew (one that gets them in its first seconds on a cgroup v1 host may fail to make
            # their cgroups and retry only 10-15 s on).
            triggers=[args.worker.instance_id, args.control_plane.identity.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.worker.ready, args.control_plane.identity]),
        )
        ready_file = args.control_plane.pod_network_ready_file
        if ready_file:
            # Released after the control plane, CoreDNS lands there first, as in a normal up; and the kubelet
            # that has run longest probes its readiness soonest (restore-identity.sh).
            pod_network_served(
                self,
                name,
                args.control_plane.node,
                args.worker,
                ready_file,
                self.join,
                after=args.control_plane.pod_network_served,
            )
        self.register_outputs({"worker": args.worker.node_name})
