"""A worker node joining the cluster with a bootstrap token the control plane issues at join time."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from components.control_plane import POD_CONTAINERS, KubeadmControlPlane
from components.node import ClusterNode
from components.shell import node_script, run_script
from kindling.contract import JOIN_SCRIPT, JOIN_TYPE

# Stand-ins in the rendered JoinConfiguration for what kubeadm-join.sh obtains
# from the control plane just before joining (see that script).
JOIN_TOKEN = "@KINDLING_JOIN_TOKEN@"
CA_CERT_HASH = "@KINDLING_CA_CERT_HASH@"


@dataclass
class KubeadmJoinArgs:
    control_plane: KubeadmControlPlane
    worker: ClusterNode
    join_config: str
    service_subnet: str  # as KubeadmControlPlaneArgs.service_subnet
    # The further control planes' joins: a worker joins a cluster whose etcd no longer changes.
    after: list[pulumi.Resource] = field(default_factory=list)


class KubeadmJoin(pulumi.ComponentResource):
    join: command.local.Command

    def __init__(self, name: str, args: KubeadmJoinArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(JOIN_TYPE, name, None, opts)
        self.join = run_script(
            f"{name}-join",
            args.worker.on_host(
                JOIN_SCRIPT,
                args.control_plane.node.node_name,
                args.worker.node_name,
                args.service_subnet,
                environment=node_script("kubeadm-join-node.sh", library=POD_CONTAINERS),
            ),
            # A worker joins once; an edited script must not make it join again.
            update="true",
            stdin=args.join_config,
            # A new worker container, or a re-initialised control plane, means joining again.
            triggers=[args.worker.instance_id, args.control_plane.init.id],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.worker.ready, args.control_plane.init, *args.after]
            ),
        )
        self.register_outputs({"worker": args.worker.node_name})
