"""Cluster add-ons: Helm v3 releases through a Kubernetes provider fed with the cluster's own kubeconfig.

The pod network goes first (without one, CoreDNS stays Pending, as on the
docker_archive 1.19.1 image); the stack's extra charts follow it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from kindling.contract import ADDONS_TYPE


@dataclass(frozen=True)
class ReleaseSpec:
    """One Helm release: ``chart`` is a chart name (with ``repo``), a URL or a local path."""

    name: str
    chart: str
    version: str
    namespace: str
    repo: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    namespace_labels: dict[str, str] = field(default_factory=dict)


# --- the pod networks kindling installs, as Helm releases -----------------------------------------


def _release_asset(base: str, tag: str, file: str) -> str:
    if base.startswith("file://"):
        base = base.removeprefix("file://")
    return f"{base}/{tag}/{file}"


def calico_release(version: str, pod_subnet: ipaddress.IPv4Network, base: str) -> ReleaseSpec:
    # Charts come from Calico's GitHub release assets: one place for every
    # version, where the chart repository has moved three times.
    tag = version.split("-", 1)[0]
    return ReleaseSpec(
        name="calico",
        chart=_release_asset(base, tag, f"tigera-operator-{version}.tgz"),
        version=version,
        namespace="tigera-operator",
        values={"installation": {"calicoNetwork": {"ipPools": [{"cidr": str(pod_subnet)}]}}},
    )


# Where the chart's init container drops its flannel CNI plugin on nodes that already have one.
UNUSED_CNI_BIN_DIR = "/opt/cni/flannel-io-bin"


def flannel_release(
    version: str, pod_subnet: ipaddress.IPv4Network, base: str, node_has_flannel_plugin: bool = False
) -> ReleaseSpec:
    values: dict[str, Any] = {"podCidr": str(pod_subnet)}
    if node_has_flannel_plugin:
        # The release's own CNI plugins (0.8.x, 0.9.x) carry the flannel plugin: keep that one in
        # /opt/cni/bin, where the chart would otherwise copy flannel-io/cni-plugin's over it.
        values["flannel"] = {"cniBinDir": UNUSED_CNI_BIN_DIR}
    return ReleaseSpec(
        name="flannel",
        chart=_release_asset(base, version, "flannel.tgz"),
        version=version,
        namespace="kube-flannel",
        values=values,
        # flannel's pods need host networking and privileges.
        namespace_labels={"pod-security.kubernetes.io/enforce": "privileged"},
    )


@dataclass
class ClusterAddonsArgs:
    kubeconfig: pulumi.Input[str]
    network: ReleaseSpec | None
    charts: list[ReleaseSpec]
    # Whether the pod network's release waits for its workloads; not where the stack waits for the network
    # itself, node by node (a restore's holds: restored_control_plane.py).
    network_awaited: bool = True


class ClusterAddons(pulumi.ComponentResource):
    provider: k8s.Provider
    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(ADDONS_TYPE, name, None, opts)
        # An explicit provider: nothing is ever deployed through whatever kubeconfig the user has around.
        self.provider = k8s.Provider(
            f"{name}-cluster",
            kubeconfig=args.kubeconfig,
            # A provider owns nothing outside Pulumi, and deleting one whose cluster is being replaced
            # fails on Pulumi 3.184 (the engine has already closed its plugin): make the delete a no-op.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.name = name
        self.releases = {}
        network = self._release(args.network, [], args.network_awaited) if args.network else None
        after_network = [network] if network else []
        for release in args.charts:
            self._release(release, after_network)
        self.register_outputs({"releases": {name: r.version for name, r in self.releases.items()}})

    def _release(
        self, release: ReleaseSpec, depends_on: list[pulumi.Resource], awaited: bool = True
    ) -> k8s.helm.v3.Release:
        # What is installed in the cluster goes when the cluster's provider goes (the cluster is being
        # replaced or destroyed), without calls to an API server that may be gone or unhealthy by then.
        # A chart removed from a live cluster is still uninstalled. (The provider, not the node: Pulumi
        # 3.184 closes a replaced provider before dependents' deletes could use it, and marks the
        # provider, but not the delete-before-replace node, as deleted in that plan.)
        namespace_opts = pulumi.ResourceOptions(parent=self, provider=self.provider, deleted_with=self.provider)
        if release.namespace_labels:
            namespace = k8s.core.v1.Namespace(
                f"{self.name}-{release.name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=release.namespace, labels=release.namespace_labels),
                # Named before its component's name prefixed its children's.
                opts=pulumi.ResourceOptions.merge(
                    namespace_opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"{release.name}-namespace")])
                ),
            )
            depends_on = [*depends_on, namespace]
        helm_release = k8s.helm.v3.Release(
            f"{self.name}-{release.name}",
            name=release.name,
            chart=release.chart,
            version=release.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=release.repo) if release.repo else None,
            namespace=release.namespace,
            create_namespace=not release.namespace_labels,
            values=release.values,
            # Wait for the release's workloads: the next release may need them (pods need a network). Helm
            # looks every 2 s: where the stack waits for the network itself, that would only end the up later.
            skip_await=not awaited,
            timeout=600,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.provider,
                depends_on=depends_on,
                deleted_with=self.provider,
                aliases=[pulumi.Alias(name=release.name)],
            ),
        )
        self.releases[release.name] = helm_release
        return helm_release
