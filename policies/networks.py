"""The cluster's networks: pod, service and node subnets apart, and the CNI on the pod subnet."""

from __future__ import annotations

import ipaddress

from pulumi_policy import ReportViolation, StackValidationArgs

from policies import shapes
from policies.kubeadm import find_init, init_config
from policies.registry import MANDATORY, Severity, stack_policy
from policies.shapes import Resource


def _check_networks(resources: list[Resource], args: StackValidationArgs, report: ReportViolation) -> None:
    init = find_init(resources)
    documents, _ = init_config(init) if init else (None, None)
    if documents is None:
        # Silent: no kubeadm init Command with a known configuration.
        return
    networking = documents.get("ClusterConfiguration", {}).get("networking") or {}
    named: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
    for key in ("podSubnet", "serviceSubnet"):
        if isinstance(networking.get(key), str):
            try:
                named[f"ClusterConfiguration networking.{key}"] = shapes.networks(networking[key])
            except ValueError:
                report(f"networking.{key} {networking[key]!r} of {init.name!r} is not a CIDR list.", init.urn)
    for resource in resources:
        if resource.type != shapes.NETWORK or not isinstance(resource.get("ipamConfigs"), list):
            continue
        for index, ipam in enumerate(resource.get("ipamConfigs")):
            subnet = ipam.get("subnet") if isinstance(ipam, dict) else None
            if isinstance(subnet, str):
                try:
                    named[f"Docker network {resource.name!r} ipamConfigs[{index}].subnet"] = shapes.networks(subnet)
                except ValueError:
                    continue
    keys = list(named)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if any(x.overlaps(y) for x in named[a] for y in named[b] if x.version == y.version):
                report(
                    f"{a} ({', '.join(map(str, named[a]))}) overlaps {b} ({', '.join(map(str, named[b]))}): "
                    "packets for one land in the other and nodes, pods or services become unreachable. "
                    "Make pod, service and node subnets disjoint (kindling:podSubnet, serviceSubnet, nodeSubnet).",
                    init.urn,
                )
    pods = named.get("ClusterConfiguration networking.podSubnet")
    if not pods:
        return
    for resource in resources:
        component = shapes.cni_release(resource)
        values = resource.get("values")
        if not component or not isinstance(values, dict):
            continue
        if component == "calico":
            installation = values.get("installation")
            network = installation.get("calicoNetwork") if isinstance(installation, dict) else None
            pools = network.get("ipPools") if isinstance(network, dict) else None
            cidrs = [p.get("cidr") for p in pools if isinstance(p, dict)] if isinstance(pools, list) else []
        else:
            cidrs = [values.get("podCidr")]
        for cidr in cidrs:
            if not isinstance(cidr, str):
                continue
            try:
                pool = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                pool = None
            inside = pool is not None and any(
                pool.version == p.version and pool.subnet_of(p)
                for p in pods  # type: ignore[arg-type]
            )
            if not inside or (component == "flannel" and pool not in pods):
                report(
                    f"the {component} release {resource.name!r} gives pods {cidr}, but the cluster's podSubnet is "
                    f"{', '.join(map(str, pods))}: pod addresses and kube-proxy's cluster CIDR disagree and "
                    "cross-node pod traffic breaks. Give the CNI the cluster's podSubnet.",
                    resource.urn,
                )


CLUSTER_NETWORKS_CONSISTENT = stack_policy(
    "cluster-networks-consistent",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="The ClusterConfiguration's pod and service subnets and the Docker node network do not overlap, "
    "and the CNI chart gives pods the cluster's podSubnet; otherwise nodes, pods or services are unreachable.",
    fix="choose disjoint kindling:podSubnet, serviceSubnet and nodeSubnet; pass podSubnet to the CNI chart.",
    validate=_check_networks,
)
