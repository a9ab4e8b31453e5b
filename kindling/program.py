"""Wire a resolved cluster spec into kindling's components, in kubeadm's order:

network and node image -> nodes (booted) -> kubeadm init -> workers join ->
pod network and charts through the cluster's own kubeconfig.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pulumi

from components.addons import (
    ClusterAddons,
    ClusterAddonsArgs,
    ReleaseSpec,
    calico_release,
    chart_release,
    flannel_release,
)
from components.control_plane import KubeadmControlPlane, KubeadmControlPlaneArgs
from components.node_container import ApiServerPublishing, NodeContainer, NodeContainerArgs
from components.node_image import NodeImage, NodeImageArgs
from components.node_network import NodeNetwork, NodeNetworkArgs
from components.preloaded_images import PreloadedImages, PreloadedImagesArgs
from components.worker_join import CA_CERT_HASH, JOIN_TOKEN, KubeadmJoin, KubeadmJoinArgs
from kindling import artifacts, catalog
from kindling.host import RELEASE_ARCHITECTURES, DockerHost
from kindling.kubeadm_config import render_init_config, render_join_config
from kindling.spec import ClusterSpec, SpecError


def _is_directory(base: str) -> bool:
    return base.startswith(("file://", "/"))


def local_artifacts(spec: ClusterSpec, architecture: str) -> dict[str, Path]:
    """The files the image build reads from local download directories, by their path in the build
    context; raises SpecError naming each one that is missing, before anything is created."""
    arch = RELEASE_ARCHITECTURES[architecture]
    downloads = spec.downloads.model_dump(by_alias=True)
    found, missing = {}, []
    for artifact in artifacts.node_artifacts(spec):
        base = downloads[artifact.source]
        if not _is_directory(base):
            continue
        directory = Path(base.removeprefix("file://"))
        paths = [artifact.path]
        if artifact.checksum.startswith("file:"):
            paths.append(artifact.checksum.removeprefix("file:"))
        for path in (template.format(arch=arch) for template in paths):
            if (directory / path).is_file():
                found[f"artifacts/{artifact.source}/{path}"] = directory / path
            else:
                missing.append(f"kindling:downloads.{artifact.source}: {directory} has no {path}")
    if missing:
        raise SpecError(missing)
    return found


def node_image_args(spec: ClusterSpec, architecture: str) -> NodeImageArgs:
    downloads = spec.downloads.model_dump(by_alias=True)
    sources = "\n".join(
        f"{source} {'dir' if _is_directory(downloads[source]) else downloads[source]}"
        for source in dict.fromkeys(artifact.source for artifact in artifacts.node_artifacts(spec))
    )
    args = NodeImageArgs(
        cluster=spec.name,
        kubernetes_version=str(spec.kubernetes),
        prebuilt=spec.node_image,
        base_image=spec.components.base_image,
        build_args={
            "KUBERNETES_VERSION": str(spec.kubernetes),
            "KINDLING_ARTIFACTS": artifacts.manifest(spec),
            "KINDLING_DOWNLOADS": sources,
            "CGROUP_DRIVER": spec.traits.cgroup_driver,
            "PAUSE_IMAGE": f"{spec.image_repository}/pause:{spec.traits.pause_version}",
            "CONTAINERD_CONFIG_VERSION": str(catalog.containerd_config_version(spec.components.containerd)),
            "APT_MIRROR": downloads["apt"] or "",
        },
        local_artifacts={} if spec.node_image else local_artifacts(spec, architecture),
    )
    if catalog.containerd_grants_all_capabilities(spec.components.containerd):
        # Only where needed: an added build argument changes the image (and so every node) of a stack.
        args.build_args["RUNC_WITHIN_BOUNDS"] = "true"
    return args


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
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def deploy(spec: ClusterSpec, host: DockerHost, project_dir: Path) -> None:
    # First, as it may still refuse the configuration (a missing local artifact): nothing exists yet.
    image_args = node_image_args(spec, host.architecture)
    mount_lib_modules = host.nodes_mount_lib_modules
    if host.lib_modules_drift:
        pulumi.log.warn(host.lib_modules_drift)
    elif not mount_lib_modules:
        pulumi.log.warn(
            "this Docker host has no /lib/modules, so nodes cannot load kernel modules from it; "
            "kube-proxy's ipvs mode and CNIs that need modules not already loaded will not work"
        )

    if spec.node_security == "capabilities" and host.cgroup_version == 2:
        pulumi.log.warn(
            "nodeSecurity capabilities on a cgroup v2 host: nodes get only Docker's default devices (a device "
            "cgroup rule cannot be set through pulumi-docker 5.0), so privileged pods that need other devices fail"
        )

    network = NodeNetwork(
        "network", NodeNetworkArgs(cluster=spec.name, subnet=str(spec.node_subnet), gateway=str(spec.gateway_ip))
    )
    image = NodeImage("node-image", image_args)
    preloaded = (
        PreloadedImages("preloaded-images", PreloadedImagesArgs(images=list(spec.preload_images)))
        if spec.preload_images
        else None
    )

    def node(name: str, index: int, config: str, api_server: ApiServerPublishing | None) -> NodeContainer:
        return NodeContainer(
            name,
            NodeContainerArgs(
                name=spec.node_names[index],
                cluster=spec.name,
                role="control-plane" if index == 0 else "worker",
                image=image.image_id,
                network=network.name,
                ip=str(spec.node_ip(index)),
                security=spec.node_security,
                mount_lib_modules=mount_lib_modules,
                config_sha256=_sha256(config),
                api_server=api_server,
                preloaded_images=preloaded,
            ),
        )

    init_config = render_init_config(spec)
    control_plane_node = node(
        "control-plane",
        0,
        init_config,
        ApiServerPublishing(address=str(spec.api_server_address), port=spec.api_server_port or None),
    )
    control_plane = KubeadmControlPlane(
        "kubeadm",
        KubeadmControlPlaneArgs(
            node=control_plane_node,
            node_name=spec.control_plane_name,
            kubeadm_config=init_config,
            taints_to_remove=spec.traits.control_plane_taints if spec.workers == 0 else (),
            api_server_address=str(spec.api_server_address),
            api_server_port=control_plane_node.api_server_host_port,
        ),
    )

    joins = []
    for index in range(spec.workers):
        join_config = render_join_config(spec, index, JOIN_TOKEN, CA_CERT_HASH)
        worker = node(f"worker-{index + 1}", index + 1, join_config, None)
        joins.append(
            KubeadmJoin(
                f"worker-{index + 1}",
                KubeadmJoinArgs(
                    control_plane_node=spec.control_plane_name,
                    control_plane_init=control_plane.init,
                    worker=worker,
                    worker_name=spec.worker_name(index),
                    join_config=join_config,
                ),
            )
        )

    addons = ClusterAddons(
        "addons",
        addons_args(spec, project_dir, control_plane.kubeconfig),
        opts=pulumi.ResourceOptions(depends_on=[join.join for join in joins] or [control_plane.init]),
    )

    pulumi.export("kubeconfig", control_plane.kubeconfig)
    pulumi.export("apiServer", control_plane.api_server_url)
    pulumi.export("nodes", spec.node_names)
    pulumi.export("nodeImage", image.name)
    # As the control-plane node reports them, with the Helm releases' chart versions.
    pulumi.export(
        "versions",
        pulumi.Output.all(
            node=control_plane.node_versions,
            charts={name: release.version for name, release in addons.releases.items()},
        ).apply(lambda found: {**found["node"], "charts": found["charts"]}),
    )
