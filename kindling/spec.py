"""What kindling builds: the stack's configuration resolved against the catalog.

``resolve`` does what needs several keys at once (catalog lookup, subnet overlaps, per-release
choices) and yields an immutable ``ClusterSpec`` that the rest of the program trusts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pydantic.alias_generators import to_camel

from kindling import catalog, contract
from kindling.config import (
    _DNS_LABEL,
    NAMESPACE,
    Chart,
    Downloads,
    SpecError,
    StackConfig,
    parse_stack_config,
    raw_stack_config,
)
from kindling.local_images import IMAGES_KEY, containerd_name
from kindling.versions import Version, parse_release

if TYPE_CHECKING:
    from kindling.snapshots import Snapshot


@dataclass(frozen=True)
class ClusterSpec:
    """A validated, fully resolved cluster: what every component is built from."""

    name: str
    kubernetes: Version
    components: catalog.Components
    traits: catalog.ReleaseTraits
    node_image: str | None
    workers: int
    control_planes: int
    api_server_address: ipaddress.IPv4Address
    api_server_port: int
    pod_subnet: ipaddress.IPv4Network
    service_subnet: ipaddress.IPv4Network
    node_subnet: ipaddress.IPv4Network
    node_subnet_auto: bool  # chosen by kindling: the host may still move it (kindling/host.py)
    kube_proxy_mode: str
    cni: str
    charts: tuple[Chart, ...]
    node_security: str
    image_repository: str
    preload_images: tuple[str, ...]
    # Local images loaded into every running node, each as its own resource (kindling/local_images.py).
    images: tuple[str, ...]
    downloads: Downloads
    keep_build_cache: bool
    # How nodes run (kindling:nodeRuntime): Docker containers, or systemd-nspawn machines.
    node_runtime: str = "docker"
    # kindling:snapshot: its name as the stack gives it, then (kindling/snapshots.py) what it holds.
    snapshot_name: str | None = None
    snapshot: Snapshot | None = None

    @property
    def restore_holds_nodes(self) -> bool:
        """Whether the stack restores a snapshot whose nodes are held until their pod network serves there (a
        network kindling knows the ready file of: components/restored_control_plane.py)."""
        return self.snapshot is not None and self.cni in contract.POD_NETWORK_READY_FILES

    @property
    def control_plane_name(self) -> str:
        """The control plane that runs kubeadm init (the only one, unless highly available)."""
        return contract.control_plane_name(self.name, 0)

    @property
    def control_plane_names(self) -> list[str]:
        return [contract.control_plane_name(self.name, i) for i in range(self.control_planes)]

    def worker_name(self, index: int) -> str:
        return f"{self.name}-worker-{index + 1}"

    @property
    def node_names(self) -> list[str]:
        """Control planes first, then workers: a node's index here is its index everywhere."""
        return [*self.control_plane_names, *(self.worker_name(i) for i in range(self.workers))]

    def worker_node_index(self, worker_index: int) -> int:
        return self.control_planes + worker_index

    def node_ip(self, index: int) -> ipaddress.IPv4Address:
        """Node 0 is the first control plane; addresses start after Docker's gateway (.1)."""
        return self.node_subnet.network_address + 2 + index

    @property
    def highly_available(self) -> bool:
        return self.control_planes > 1

    @property
    def load_balancer_name(self) -> str:
        return contract.load_balancer_name(self.name)

    @property
    def load_balancer_ip(self) -> ipaddress.IPv4Address:
        """The subnet's last usable address: far from the nodes, which count up from its start."""
        return self.node_subnet.broadcast_address - 1

    @property
    def gateway_ip(self) -> ipaddress.IPv4Address:
        return self.node_subnet.network_address + 1

    @property
    def control_plane_ip(self) -> ipaddress.IPv4Address:
        return self.node_ip(0)

    @property
    def api_server_sans(self) -> list[str]:
        sans = ["localhost", "127.0.0.1"]
        if str(self.api_server_address) not in ("127.0.0.1", "0.0.0.0"):
            sans.append(str(self.api_server_address))
        return sans


def auto_node_subnets(kubernetes: Version) -> Iterator[ipaddress.IPv4Network]:
    """Candidates for ``nodeSubnet: auto``, best first: 10.<minor>.<patch>.0/24, so that stacks of
    different releases run side by side, then the /24s of 10.255.0.0/16 and 172.31.0.0/16."""
    yield ipaddress.IPv4Network(f"10.{kubernetes.minor % 256}.{kubernetes.patch % 256}.0/24")
    for block in ("10.255.0.0/16", "172.31.0.0/16"):
        yield from ipaddress.IPv4Network(block).subnets(new_prefix=24)


def free_node_subnet(kubernetes: Version, taken: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network | None:
    """The first automatic node subnet that overlaps none of ``taken``."""
    return next((c for c in auto_node_subnets(kubernetes) if not any(c.overlaps(n) for n in taken)), None)


def _resolve_components(config: StackConfig, kubernetes: Version, problems: list[str]) -> catalog.Components | None:
    overrides = config.components.model_dump(exclude_none=True)
    base = catalog.catalog_release(kubernetes)
    if base is None:
        missing = [to_camel(n) for n in catalog.Components.required_names() if n not in overrides]
        if missing:
            problems.append(
                f"{NAMESPACE}:kubernetesVersion: {kubernetes} is not in the version catalog "
                f"(known: {', '.join(catalog.known_releases())}); to use it anyway, set every component "
                f"in {NAMESPACE}:components (missing: {', '.join(missing)})"
            )
            return None
        return catalog.Components(**overrides)
    return catalog.Components(**{**base.__dict__, **overrides})


def _check_subnets(named: dict[str, ipaddress.IPv4Network], problems: list[str]) -> None:
    keys = list(named)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if named[a].overlaps(named[b]):
                problems.append(
                    f"{NAMESPACE}:{a} {named[a]} overlaps {NAMESPACE}:{b} {named[b]}; "
                    "pod, service and node subnets must be disjoint"
                )


def _check_charts(charts: list[Chart], project_dir: Path, problems: list[str]) -> None:
    seen: set[tuple[str, str]] = set()
    for index, chart in enumerate(charts):
        key = f"{NAMESPACE}:charts[{index}]"
        if (chart.namespace, chart.name) in seen:
            problems.append(f"{key}.name: {chart.name!r} is used twice in namespace {chart.namespace!r}")
        seen.add((chart.namespace, chart.name))
        if chart.path is not None:
            location = (project_dir / chart.path).resolve()
            if not location.exists():
                problems.append(f"{key}.path: {chart.path!r} does not exist (resolved to {location})")


def cluster_name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot name a cluster (its nodes, network, images and kubeconfig context), or None."""
    if _DNS_LABEL.match(name) and len(name) <= 40:
        return None
    return (
        f"{what} {name!r} cannot name a cluster; use lowercase letters, digits and '-', "
        "at most 40 characters (e.g. k8s-1-19-1)"
    )


def _check_images(images: list[str], preloaded: list[str], problems: list[str]) -> None:
    """Each loaded image once, by the name the nodes give it; and not baked into the node image as well."""
    seen: dict[str, str] = {}
    baked = {containerd_name(image) for image in preloaded}
    for index, image in enumerate(images):
        name = containerd_name(image)
        if name in seen:
            problems.append(f"{IMAGES_KEY}[{index}]: {image!r} is {seen[name]!r} again (both are {name} in the nodes)")
        elif name in baked:
            problems.append(
                f"{IMAGES_KEY}[{index}]: {image!r} is in {NAMESPACE}:preloadImages too; list it in one of them "
                "(preloadImages: baked into the node image, before kubeadm; images: loaded into running nodes)"
            )
        seen.setdefault(name, image)


def _check_node_runtime(config: StackConfig, problems: list[str]) -> None:
    """What systemd-nspawn machines cannot do yet: each of these drives Docker containers besides the nodes."""
    if config.node_runtime != "nspawn":
        return
    unsupported = {
        "controlPlanes": (config.control_planes > 1, "several control planes need the load balancer container"),
        "snapshot": (config.snapshot is not None, "snapshots are of Docker volumes"),
        "images": (bool(config.images), "images are loaded into node containers"),
        "preloadImages": (
            bool(config.preload_images) and config.node_image is not None,
            "a prebuilt nodeImage gets them loaded into node containers (a built node image holds them)",
        ),
    }
    for key, (given, why) in unsupported.items():
        if given:
            problems.append(
                f"{NAMESPACE}:{key}: not available with {NAMESPACE}:nodeRuntime nspawn yet ({why}); "
                "leave it out or use nodeRuntime docker"
            )


def resolve(config: StackConfig, stack: str, project_dir: Path | None = None) -> ClusterSpec:
    """Cross-key validation and catalog lookup; raises SpecError listing every problem."""
    problems: list[str] = []
    if problem := cluster_name_problem(stack, "stack name"):
        problems.append(problem)
    kubernetes = parse_release(config.kubernetes_version)
    try:
        traits = catalog.traits_for(kubernetes)
    except LookupError as exc:
        raise SpecError([f"{NAMESPACE}:kubernetesVersion: {exc}"]) from None
    components = _resolve_components(config, kubernetes, problems)

    if config.kube_proxy_mode not in traits.kube_proxy_modes:
        problems.append(
            f"{NAMESPACE}:kubeProxyMode: {config.kube_proxy_mode!r} is not available in Kubernetes "
            f"{kubernetes} without feature gates; allowed: {', '.join(traits.kube_proxy_modes)}"
        )

    node_subnet = config.node_subnet
    if node_subnet == "auto":
        # Never one the cluster's own pod or service network overlaps (10.96.0.0/12 holds 10.96-10.111).
        node_subnet = free_node_subnet(kubernetes, [config.pod_subnet, config.service_subnet])
        if node_subnet is None:
            raise SpecError([f"{NAMESPACE}:nodeSubnet: no automatic subnet is free of the pod and service subnets"])
    _check_subnets(
        {"podSubnet": config.pod_subnet, "serviceSubnet": config.service_subnet, "nodeSubnet": node_subnet},
        problems,
    )
    # Besides the network, gateway and broadcast addresses: the control planes, and their load balancer.
    room = node_subnet.num_addresses - 3 - config.control_planes - (config.control_planes > 1)
    if room < 0:
        problems.append(
            f"{NAMESPACE}:controlPlanes: {config.control_planes} control planes and their load balancer do not fit "
            f"in {NAMESPACE}:nodeSubnet {node_subnet}; give a larger subnet"
        )
    elif config.workers > room:
        problems.append(
            f"{NAMESPACE}:workers: {config.workers} nodes do not fit in {NAMESPACE}:nodeSubnet "
            f"{node_subnet}; allowed: 0 to {room}"
        )
    _check_charts(config.charts, project_dir or Path.cwd(), problems)
    _check_images(config.images, config.preload_images, problems)
    _check_node_runtime(config, problems)
    if problems:
        raise SpecError(problems)

    return ClusterSpec(
        name=stack,
        kubernetes=kubernetes,
        components=components,
        traits=traits,
        node_image=config.node_image,
        workers=config.workers,
        control_planes=config.control_planes,
        api_server_address=config.api_server_address,
        api_server_port=config.api_server_port,
        pod_subnet=config.pod_subnet,
        service_subnet=config.service_subnet,
        node_subnet=node_subnet,
        node_subnet_auto=config.node_subnet == "auto",
        kube_proxy_mode=config.kube_proxy_mode,
        cni=config.cni,
        charts=tuple(config.charts),
        node_security=config.node_security,
        image_repository=config.image_repository,
        preload_images=tuple(config.preload_images),
        images=tuple(config.images),
        downloads=config.downloads,
        keep_build_cache=config.keep_build_cache,
        node_runtime=config.node_runtime,
        snapshot_name=config.snapshot,
    )


def build_spec(raw: dict[str, Any], stack: str, project_dir: Path | None = None) -> ClusterSpec:
    return resolve(parse_stack_config(raw), stack, project_dir)


def load_spec() -> ClusterSpec:
    """The spec of the stack being deployed."""
    return build_spec(raw_stack_config(), pulumi.get_stack(), Path.cwd())
