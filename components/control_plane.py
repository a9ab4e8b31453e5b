"""kubeadm init on the (first) control-plane node, and the cluster-admin kubeconfig it yields.

The rendered kubeadm configuration is the init Command's stdin, so `pulumi
preview` shows it and policies can check it before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_command as command
import yaml

from components.api_server_port import PublishedApiServer
from components.node import ClusterNode
from components.shell import run_script
from kindling.contract import CONTROL_PLANE_TYPE, INIT_SCRIPT, INIT_STEP, KUBECONFIG_SCRIPT, KUBECONFIG_STEP

READY_TIMEOUT_SECONDS = 180
# The library kubeadm-init.sh and kubeadm-join-node.sh call when they run again after a failed attempt:
# it travels with them from the host, read ahead of them (components/shell.py's carried).
POD_CONTAINERS = "pod-containers.sh"


@dataclass
class KubeadmControlPlaneArgs:
    node: ClusterNode
    kubeadm_config: str
    # The cluster's Service range: the node keeps pods' packets for it that kube-proxy did not translate.
    service_subnet: str
    # Taints kubeadm puts on this release's control plane; removed when there are no workers.
    taints_to_remove: tuple[str, ...]
    # Where the API server is published on the host: by this node, or by the load balancer.
    published: PublishedApiServer
    # What must run before kubeadm init besides the node: the load balancer kubeadm reaches the API through.
    after: list[pulumi.Resource] = field(default_factory=list)


def client_host(published_address: str) -> str:
    """Where clients on this host reach a port published on ``published_address``."""
    return "127.0.0.1" if published_address == "0.0.0.0" else published_address


def kubeconfig_for_host(admin_conf: str, address: str, port: int) -> str:
    """admin.conf with its server rewritten to the API server's published host address."""
    config = yaml.safe_load(admin_conf)
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://{client_host(address)}:{port}"
    return yaml.safe_dump(config, sort_keys=False)


_VERSION = re.compile(r"v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)")


def parse_node_versions(report: str) -> dict[str, str]:
    """``node-versions.sh`` output as {component: version}; tools the node lacks read "not installed"."""
    versions = {}
    for line in report.splitlines():
        name, _, text = line.partition(" ")
        found = _VERSION.search(text)
        versions[name] = found.group(1) if found else text.strip()
    return versions


def control_plane_outputs(
    component: pulumi.ComponentResource, name: str, node: ClusterNode, published: PublishedApiServer
) -> tuple[command.local.Command, pulumi.Output[dict[str, str]], pulumi.Output[str], pulumi.Output[str]]:
    """What a control plane gives once ``component.init`` made it (kubeadm init, or a restore): the Command
    that waits for it to be Ready, what its node runs, the cluster-admin kubeconfig and the API's URL."""
    admin_conf = run_script(
        f"{name}-{KUBECONFIG_STEP}",
        node.in_node(KUBECONFIG_SCRIPT),
        triggers=[component.init.id],
        # The kubeconfig grants cluster-admin: never in logs, encrypted in state.
        logging=command.local.Logging.STDERR,
        opts=pulumi.ResourceOptions(
            parent=component, depends_on=[component.init], additional_secret_outputs=["stdout"]
        ),
    )
    # kubeadm init returns once the API server answers; the control plane is Ready when it says so
    # (/readyz): what a stack without a pod network (cni: none) promises, too.
    ready = run_script(
        f"{name}-ready",
        node.in_node("control-plane-ready.sh", str(READY_TIMEOUT_SECONDS)),
        triggers=[component.init.id],
        opts=pulumi.ResourceOptions(parent=component, depends_on=[component.init]),
    )
    # What the node really runs: a prebuilt image need not hold the catalog's versions.
    reported = run_script(
        f"{name}-node-versions",
        node.in_node("node-versions.sh"),
        triggers=[component.init.id],
        opts=pulumi.ResourceOptions(parent=component, depends_on=[component.init]),
    )
    kubeconfig = pulumi.Output.secret(
        pulumi.Output.all(admin_conf.stdout, published.host_port).apply(
            lambda values: kubeconfig_for_host(values[0], published.address, values[1])
        )
    )
    api_server_url = pulumi.Output.concat(
        "https://", client_host(published.address), ":", published.host_port.apply(str)
    )
    return ready, reported.stdout.apply(parse_node_versions), kubeconfig, api_server_url


class KubeadmControlPlane(pulumi.ComponentResource):
    init: command.local.Command
    kubeconfig: pulumi.Output[str]
    node_versions: pulumi.Output[dict[str, str]]
    api_server_url: pulumi.Output[str]

    def __init__(self, name: str, args: KubeadmControlPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(CONTROL_PLANE_TYPE, name, None, opts)
        node, published = args.node, args.published
        self.node = node
        self.init = run_script(
            f"{name}-{INIT_STEP}",
            node.in_node(
                INIT_SCRIPT, node.node_name, args.service_subnet, *args.taints_to_remove, library=POD_CONTAINERS
            ),
            # kubeadm init runs once per node: an edited script must not re-initialise a live cluster.
            # A changed configuration replaces the node (its label), and triggers run init again.
            update="true",
            stdin=args.kubeadm_config,
            # A new node is a new machine: initialise it again.
            triggers=[args.node.instance_id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node.ready, *args.after]),
        )
        self.ready, self.node_versions, self.kubeconfig, self.api_server_url = control_plane_outputs(
            self, name, node, published
        )
        self.register_outputs({"apiServerUrl": self.api_server_url, "kubeconfig": self.kubeconfig})
