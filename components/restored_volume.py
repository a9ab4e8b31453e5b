"""A node's /var volume, filled from a snapshot's copy before the node starts.

A snapshot keeps each node's /var (containerd's unpacked images, etcd's data, the kubelet's state) in
a volume of its own; a restored node gets a copy of it in a volume of the cluster's, which its
container mounts at /var as a node built from scratch mounts an empty one. The snapshot's volume is
only read, so any number of clusters restore from it, and destroy removes only the copy. containerd's
unpacked layers, never written in place, are hard-linked into the copy where the engine's volumes
allow it (scripts/copy-volume.sh, fill-volume.sh).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.shell import node_script, on_host, run_script
from kindling.contract import LABEL_CLUSTER, RESTORED_VOLUME_TYPE


@dataclass
class RestoredVolumeArgs:
    name: str  # the volume's name: <node>-var
    cluster: str
    snapshot_volume: str
    # The snapshot image of the node: the copy runs its cp, so that nothing is pulled.
    image: str


class RestoredVolume(pulumi.ComponentResource):
    volume: docker.Volume
    copied: command.local.Command

    def __init__(self, name: str, args: RestoredVolumeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(RESTORED_VOLUME_TYPE, name, None, opts)
        self.volume = docker.Volume(
            name,
            name=args.name,
            labels=[docker.VolumeLabelArgs(label=LABEL_CLUSTER, value=args.cluster)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.copied = run_script(
            f"{name}-copy",
            on_host(
                "copy-volume.sh", args.snapshot_volume, args.name, args.image, environment=node_script("fill-volume.sh")
            ),
            # A new volume (or another snapshot) is filled anew; the node on it is replaced with it.
            triggers=[self.volume.id, args.image],
            # An edited fill script changes nothing filled already: run again, it would empty the /var of
            # a node that runs on it.
            update="true",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.volume]),
        )
        self.name = self.volume.name
        self.register_outputs({"volume": self.volume.name})
