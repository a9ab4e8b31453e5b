"""What a kubeadm step needs of a node, whichever runtime runs it (README, "Node runtimes").

A node container (node_container.py) and a systemd-nspawn machine (node_machine.py) both give it;
cluster.py picks one, and no kubeadm component knows which.
"""

from __future__ import annotations

from typing import Protocol

import pulumi

from components.api_server_port import PublishedApiServer
from components.shell import Library, ScriptCommand


class ClusterNode(Protocol):
    node_name: str
    # Booted, with what must be in it before kubeadm runs.
    ready: pulumi.Resource
    # Running, its systemd perhaps still booting: for a step that waits for what it needs of the boot itself.
    started: pulumi.Resource
    # Where this node publishes the API server on the host (None: it does not).
    published: PublishedApiServer | None

    @property
    def instance_id(self) -> pulumi.Output[str]:
        """Changes whenever the node is a new machine: kubeadm must initialise or join it again."""
        ...

    def in_node(self, script_name: str, *args: str, library: Library = None) -> ScriptCommand:
        """A node-side script run in this node, the Command's stdin passed through; ``library``, a script
        of shell functions it calls, is read ahead of it (components/shell.py's carried)."""
        ...

    def on_host(
        self, script_name: str, *args: str, environment: dict[str, pulumi.Input[str]] | None = None
    ) -> ScriptCommand:
        """A host-side script whose ``docker exec`` reaches this node and the others of its cluster."""
        ...
