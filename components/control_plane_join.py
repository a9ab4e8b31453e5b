"""A further control plane joining the cluster, with a bootstrap token and a certificate key the first
control plane issues at join time, one control plane at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from components.control_plane import POD_CONTAINERS, KubeadmControlPlane
from components.node import ClusterNode
from components.shell import node_script, run_script
from kindling.contract import CONTROL_PLANE_JOIN_SCRIPT, CONTROL_PLANE_JOIN_TYPE

# Stand-in in the rendered JoinConfiguration for the key kubeadm-join-control-plane.sh obtains by
# uploading the control plane's certificates just before joining (the token and CA hash are the
# workers' stand-ins, components/worker_join.py).
CERTIFICATE_KEY = "@KINDLING_CERTIFICATE_KEY@"


@dataclass
class KubeadmControlPlaneJoinArgs:
    control_plane: KubeadmControlPlane  # where the token and the key are minted
    node: ClusterNode
    join_config: str
    service_subnet: str  # as KubeadmControlPlaneArgs.service_subnet
    # Taints kubeadm puts on this release's control planes; removed when there are no workers.
    taints_to_remove: tuple[str, ...] = ()
    # The joins before this one: each upload of the certificates replaces the previous one, and
    # etcd takes one new member at a time.
    after: list[pulumi.Resource] = field(default_factory=list)


class KubeadmControlPlaneJoin(pulumi.ComponentResource):
    join: command.local.Command

    def __init__(self, name: str, args: KubeadmControlPlaneJoinArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(CONTROL_PLANE_JOIN_TYPE, name, None, opts)
        control_plane = args.control_plane
        self.join = run_script(
            f"{name}-join",
            args.node.on_host(
                CONTROL_PLANE_JOIN_SCRIPT,
                control_plane.node.node_name,
                args.node.node_name,
                args.service_subnet,
                *args.taints_to_remove,
                environment=node_script("kubeadm-join-node.sh", library=POD_CONTAINERS),
            ),
            # A control plane joins once: neither an edited script nor a changed list of taints to remove
            # (a first worker added) may make it join again.
            update="true",
            stdin=args.join_config,
            # A new node container, or a re-initialised cluster, means joining again.
            triggers=[args.node.instance_id, control_plane.init.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node.ready, control_plane.ready, *args.after]),
        )
        self.register_outputs({"controlPlane": args.node.node_name})
