"""The cluster, step by step: the one place that turns a ClusterSpec into components and outputs.

Like kind's create (pkg/cluster/internal/create/create.go), it reads in kubeadm's order:

1. the cluster's network: a Docker network (NodeNetwork), or its machines' bridge (MachineNetwork);
2. local images the nodes run (PreloadedImages), and the node image with them baked in (NodeImage);
3. the control-plane node, booted (NodeContainer, or NodeMachine: the node runtime's one seam), and
   with several control planes the load balancer in front of them (ApiServerLoadBalancer);
4. kubeadm init, the kubeconfig, and the control plane Ready (KubeadmControlPlane);
5. each further control plane, booted and joined, one after the other (KubeadmControlPlaneJoin);
6. each worker node, booted and joined (NodeContainer, KubeadmJoin);
7. your own local images, loaded into every node once it runs (LoadedImages);
8. the pod network, then the stack's charts (ClusterAddons);
9. the stack's outputs.

A stack started from a snapshot (kindling:snapshot) takes the same steps, but its nodes run the
snapshot's images on copies of its volumes (RestoredVolume), and a restore gives the control plane and
each worker the stack's own identity (RestoredControlPlane, RestoredWorker) where kubeadm would
initialise and join them.

Everything the components are given is computed here, from the spec and the host; the components
know nothing of either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pulumi

from components.addons import ClusterAddons, ClusterAddonsArgs, ReleaseSpec, calico_release, flannel_release
from components.api_server_port import ApiServerPublishing
from components.control_plane import KubeadmControlPlane, KubeadmControlPlaneArgs
from components.control_plane_join import CERTIFICATE_KEY, KubeadmControlPlaneJoin, KubeadmControlPlaneJoinArgs
from components.load_balancer import ApiServerLoadBalancer, ApiServerLoadBalancerArgs
from components.loaded_images import LoadedImages, LoadedImagesArgs
from components.machine_network import MachineNetwork, MachineNetworkArgs
from components.node import ClusterNode
from components.node_container import NodeContainer, NodeContainerArgs
from components.node_image import NodeImage, NodeImageArgs
from components.node_machine import NodeMachine, NodeMachineArgs
from components.node_network import NodeNetwork, NodeNetworkArgs
from components.preloaded_images import PreloadedImages, PreloadedImagesArgs
from components.restored_control_plane import RestoredControlPlane, RestoredControlPlaneArgs
from components.restored_volume import RestoredVolume, RestoredVolumeArgs
from components.restored_worker import RestoredWorker, RestoredWorkerArgs
from components.worker_join import CA_CERT_HASH, JOIN_TOKEN, KubeadmJoin, KubeadmJoinArgs
from kindling import artifacts, catalog
from kindling.artifacts import local_artifacts
from kindling.catalog import images_a_worker_runs
from kindling.config import Chart
from kindling.haproxy_config import render_haproxy_config
from kindling.host import DockerHost, warn_about_the_host
from kindling.kubeadm_config import (
    provider_id,
    render_control_plane_join_config,
    render_init_config,
    render_join_config,
    render_kubelet_identity_config,
)
from kindling.local_images import containerd_name
from kindling.machines import bridge_name, machines_dir, veth_name
from kindling.spec import ClusterSpec


def node_image_args(spec: ClusterSpec, architecture: str) -> NodeImageArgs:
    node_artifacts = artifacts.node_artifacts(spec)
    return NodeImageArgs(
        cluster=spec.name,
        kubernetes_version=str(spec.kubernetes),
        prebuilt=spec.node_image,
        base_image=spec.components.base_image,
        artifacts_manifest=artifacts.manifest(node_artifacts),
        download_sources=artifacts.download_sources(spec, node_artifacts),
        cgroup_driver=spec.traits.cgroup_driver,
        pause_image=f"{spec.image_repository}/pause:{spec.traits.pause_version}",
        containerd_config_version=catalog.containerd_config_version(spec.components.containerd),
        apt_mirror=spec.downloads.apt,
        runc_within_bounds=catalog.containerd_grants_all_capabilities(spec.components.containerd),
        local_artifacts={} if spec.node_image else local_artifacts(spec, node_artifacts, architecture),
        keep_build_cache=spec.keep_build_cache,
    )


# --- what runs in the cluster: the spec as Helm releases ---------------------------------------


def chart_release(chart: Chart, project_dir: Path) -> ReleaseSpec:
    return ReleaseSpec(
        name=chart.name,
        chart=chart.chart if chart.repo else str((project_dir / chart.path).resolve()),
        version=chart.version,
        namespace=chart.namespace,
        repo=chart.repo,
        values=dict(chart.values),
    )


def network_release(spec: ClusterSpec) -> ReleaseSpec | None:
    if spec.cni == "calico":
        return calico_release(spec.components.calico, spec.pod_subnet, spec.downloads.calico)
    if spec.cni == "flannel":
        return flannel_release(
            spec.components.flannel,
            spec.pod_subnet,
            spec.downloads.flannel,
            node_has_flannel_plugin=catalog.cni_plugins_ship_flannel(spec.components.cni_plugins),
        )
    return None


def addons_args(spec: ClusterSpec, project_dir: Path, kubeconfig: pulumi.Input[str]) -> ClusterAddonsArgs:
    """What runs in the cluster: its pod network first, then the stack's charts."""
    return ClusterAddonsArgs(
        kubeconfig=kubeconfig,
        network=network_release(spec),
        charts=[chart_release(chart, project_dir) for chart in spec.charts],
        network_awaited=not spec.restore_holds_nodes,  # such a restore waits for the network itself
    )


def load_balancer(
    spec: ClusterSpec, network: pulumi.Input[str], published: ApiServerPublishing
) -> ApiServerLoadBalancer:
    """HAProxy in front of the control planes, built on the node image's base image."""
    return ApiServerLoadBalancer(
        "load-balancer",
        ApiServerLoadBalancerArgs(
            name=spec.load_balancer_name,
            cluster=spec.name,
            base_image=spec.components.base_image,
            apt_mirror=spec.downloads.apt,
            haproxy_config=render_haproxy_config(spec),
            network=network,
            ip=str(spec.load_balancer_ip),
            api_server=published,
            keep_build_cache=spec.keep_build_cache,
        ),
    )


def restored_volumes(spec: ClusterSpec) -> list[RestoredVolume]:
    """Each node's /var, copied from the snapshot's (components/restored_volume.py)."""
    return [
        RestoredVolume(
            f"{name}-var",
            RestoredVolumeArgs(name=f"{name}-var", cluster=spec.name, snapshot_volume=node.volume, image=node.image),
        )
        for name, node in zip(spec.node_names, spec.snapshot.nodes, strict=True)
    ]


def restored_worker(
    spec: ClusterSpec, index: int, control_plane: RestoredControlPlane, node: Callable[..., NodeContainer]
) -> RestoredWorker:
    """Worker ``index``, booted from the snapshot, with a kubelet identity of its own."""
    node_index = spec.worker_node_index(index)
    config = render_kubelet_identity_config(spec, node_index)
    return RestoredWorker(
        f"worker-{index + 1}",
        RestoredWorkerArgs(
            control_plane=control_plane,
            worker=node(f"worker-{index + 1}", node_index, config, None),
            kubelet_config=config,
            node_ip=str(spec.node_ip(node_index)),
            provider_id=provider_id(spec, spec.node_names[node_index]),
        ),
    )


def node_machine(
    spec: ClusterSpec,
    index: int,
    image: pulumi.Input[str],
    network: MachineNetwork,
    host: DockerHost,
    config: str,
    api_server: ApiServerPublishing | None,
) -> NodeMachineArgs:
    """Node ``index`` as a systemd-nspawn machine: its root filesystem, address and options."""
    return NodeMachineArgs(
        name=spec.node_names[index],
        image=image,
        machines_dir=machines_dir(spec.name),
        network=network,
        veth=veth_name(spec.node_names[index]),
        ip=str(spec.node_ip(index)),
        gateway=str(spec.gateway_ip),
        prefix_length=spec.node_subnet.prefixlen,
        mount_lib_modules=host.nodes_mount_lib_modules,
        config_sha256=hashlib.sha256(config.encode()).hexdigest(),
        hosts={name: str(spec.node_ip(i)) for i, name in enumerate(spec.control_plane_names)},
        api_server=api_server,
    )


def deploy(spec: ClusterSpec, host: DockerHost, project_dir: Path, image_ids: dict[str, str]) -> None:
    snapshot = spec.snapshot
    # First, as it may still refuse the configuration (a missing local artifact): nothing exists yet.
    image_args = None if snapshot else node_image_args(spec, host.architecture)
    warn_about_the_host(spec, host)

    # 1. The cluster's network, on a fixed subnet.
    subnet, gateway = str(spec.node_subnet), str(spec.gateway_ip)
    node_network = NodeNetworkArgs(cluster=spec.name, subnet=subnet, gateway=gateway, attach_when_made=bool(snapshot))
    network = (
        MachineNetwork("network", MachineNetworkArgs(bridge=bridge_name(spec.name), subnet=subnet, gateway=gateway))
        if spec.node_runtime == "nspawn"
        else NodeNetwork("network", node_network)
    )
    # 2. The local images the nodes run, and the node image: built with them in its containerd, or (a prebuilt
    # image) loaded into each node before kubeadm runs. From a snapshot: its images, and each node's /var copied.
    image = loaded_at_start = None
    volumes = restored_volumes(spec) if snapshot else []
    if image_args is not None:
        preloaded = (
            PreloadedImages("preloaded-images", PreloadedImagesArgs(images=list(spec.preload_images)))
            if spec.preload_images
            else None
        )
        prebuilt = spec.node_image is not None
        image_args.preloaded = None if prebuilt else preloaded
        image = NodeImage("node-image", image_args)
        loaded_at_start = preloaded if prebuilt else None

    nodes: list[ClusterNode] = []  # every node, in the order they are made

    def node(name: str, index: int, config: str, api_server: ApiServerPublishing | None) -> ClusterNode:
        control_plane = index < spec.control_planes
        if isinstance(network, MachineNetwork):
            nodes.append(
                NodeMachine(name, node_machine(spec, index, image.image_id, network, host, config, api_server))
            )
            return nodes[-1]
        made = NodeContainer(
            name,
            NodeContainerArgs(
                name=spec.node_names[index],
                cluster=spec.name,
                role="control-plane" if control_plane else "worker",
                image=image.image_id if image else spec.snapshot.nodes[index].image,
                network=network.name,
                ip=str(spec.node_ip(index)),
                security=spec.node_security,
                mount_lib_modules=host.nodes_mount_lib_modules,
                config_sha256=hashlib.sha256(config.encode()).hexdigest(),
                api_server=api_server,
                preloaded_images=loaded_at_start,
                runs_images=None if control_plane else images_a_worker_runs(spec.preload_images),
                var_volume=volumes[index].name if volumes else None,
                after=([volumes[index].copied] if volumes else []) + network.nodes_after,
            ),
        )
        nodes.append(made)
        return made

    # 3. The control-plane node, publishing the API server on one host address; with several, the
    # load balancer publishes it instead, and kubeadm init reaches the API through it.
    init_config = render_init_config(spec)
    # Taints kubeadm puts on control planes, which must go when no worker would run the pods.
    taints_to_remove = spec.traits.control_plane_taints if spec.workers == 0 else ()
    published = ApiServerPublishing(address=str(spec.api_server_address), port=spec.api_server_port or None)
    balancer = load_balancer(spec, network.name, published) if spec.highly_available else None
    control_plane_node = node("control-plane", 0, init_config, None if balancer else published)
    # 4. kubeadm init (or the restore from a snapshot), the kubeconfig, the control plane Ready.
    control_plane: KubeadmControlPlane | RestoredControlPlane
    if snapshot:
        control_plane = RestoredControlPlane(
            "snapshot",
            RestoredControlPlaneArgs(
                node=control_plane_node,
                kubeadm_config=init_config,
                taints_to_remove=taints_to_remove,
                published=control_plane_node.published,
                # A restore under the snapshot's own cluster name keeps the nodes that are its own.
                snapshot_nodes=[node.name for node in snapshot.nodes if node.name not in spec.node_names],
                snapshot_ip=snapshot.nodes[0].ip,
                cni=spec.cni,
            ),
        )
    else:
        control_plane = KubeadmControlPlane(
            "kubeadm",
            KubeadmControlPlaneArgs(
                node=control_plane_node,
                kubeadm_config=init_config,
                service_subnet=str(spec.service_subnet),
                taints_to_remove=taints_to_remove,
                published=balancer.published if balancer else control_plane_node.published,
                after=[balancer.container] if balancer else [],
            ),
        )
    # 5. The further control planes, each booted and joined after the one before.
    control_plane_joins: list[pulumi.Resource] = []
    for index in range(1, spec.control_planes):
        join_config = render_control_plane_join_config(spec, index, JOIN_TOKEN, CA_CERT_HASH, CERTIFICATE_KEY)
        joined = KubeadmControlPlaneJoin(
            f"control-plane-{index + 1}",
            KubeadmControlPlaneJoinArgs(
                control_plane=control_plane,
                node=node(f"control-plane-{index + 1}", index, join_config, None),
                join_config=join_config,
                service_subnet=str(spec.service_subnet),
                taints_to_remove=taints_to_remove,
                after=control_plane_joins[-1:],
            ),
        )
        control_plane_joins.append(joined.join)
    # 6. The workers, each booted and joined (or restored).
    joins: list[KubeadmJoin | RestoredWorker] = []
    for index in range(spec.workers):
        if isinstance(control_plane, RestoredControlPlane):
            joins.append(restored_worker(spec, index, control_plane, node))
            continue
        join_config = render_join_config(spec, index, JOIN_TOKEN, CA_CERT_HASH)
        worker = node(f"worker-{index + 1}", spec.worker_node_index(index), join_config, None)
        joins.append(
            KubeadmJoin(
                f"worker-{index + 1}",
                KubeadmJoinArgs(
                    control_plane=control_plane,
                    worker=worker,
                    join_config=join_config,
                    service_subnet=str(spec.service_subnet),
                    after=control_plane_joins,
                ),
            )
        )
    # 7. Your own images, loaded into every node once it runs, beside the nodes: nothing a node is made of needs them.
    loads = {containerd_name(image): (image, image_ids[image]) for image in spec.images}
    loaded = LoadedImages("images", LoadedImagesArgs(loads, nodes, network.network)).loads if loads else {}
    # 8. The pod network, then the stack's charts (which may run those images).
    addons = ClusterAddons(
        "addons",
        addons_args(spec, project_dir, control_plane.kubeconfig),
        opts=pulumi.ResourceOptions(
            depends_on=[control_plane.ready, *control_plane_joins, *(join.join for join in joins), *loaded.values()]
        ),
    )
    # 9. The outputs.
    pulumi.export("kubeconfig", control_plane.kubeconfig)
    pulumi.export("apiServer", control_plane.api_server_url)
    pulumi.export("nodes", spec.node_names)
    if balancer:
        pulumi.export("loadBalancer", spec.load_balancer_name)
    if snapshot:
        pulumi.export("snapshot", snapshot.name)
    pulumi.export("nodeImage", image.name if image else snapshot.reference(0))
    if loaded:
        pulumi.export("images", {reference: image_ids[reference] for reference in spec.images})
    # As the control-plane node reports them, with the Helm releases' chart versions.
    pulumi.export(
        "versions",
        pulumi.Output.all(
            node=control_plane.node_versions,
            charts={name: release.version for name, release in addons.releases.items()},
        ).apply(lambda found: {**found["node"], "charts": found["charts"]}),
    )
