"""The kubeadm configuration on the init Command, and the node image built for the same release."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import semver
from pulumi_policy import ReportViolation, StackValidationArgs

from kindling import catalog, contract
from kindling.versions import minor_of, parse_release
from policies import shapes
from policies.registry import MANDATORY, Severity, resource_policy, stack_policy
from policies.shapes import UNKNOWN, Resource


def init_config(resource: Resource) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """The kubeadm documents of the init Command by kind, or why there are none (None, None: unknown)."""
    stdin = resource.get("stdin")
    if stdin is UNKNOWN:
        return None, None
    if not isinstance(stdin, str) or not stdin.strip():
        return None, (
            "carries no kubeadm configuration on stdin; kindling passes the whole configuration there "
            "so that it can be checked before anything runs"
        )
    try:
        return shapes.by_kind(shapes.kubeadm_documents(stdin)), None
    except shapes.ConfigError as exc:
        return None, f"has a kubeadm configuration that kubeadm cannot read: {exc}"


def find_init(resources: Iterable[Resource]) -> Resource | None:
    """The kubeadm init Command: the control plane component's init step."""
    return next((r for r in resources if shapes.is_step(r, contract.CONTROL_PLANE_TYPE, contract.INIT_STEP)), None)


def kubernetes_version(documents: dict[str, dict[str, Any]]) -> semver.Version | None:
    text = documents.get("ClusterConfiguration", {}).get("kubernetesVersion")
    if not isinstance(text, str):
        return None
    try:
        return parse_release(text)
    except ValueError:
        return None


_KUBE_PROXY_SKIPPED = ("addon", "addon/kube-proxy", "addon/all")


def _check_conntrack(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.COMMAND or not shapes.is_step(resource, contract.CONTROL_PLANE_TYPE, contract.INIT_STEP):
        return
    documents, problem = init_config(resource)
    if problem:
        report(f"the kubeadm init Command {resource.name!r} {problem}.")
    if documents is None:
        return
    skipped = documents.get("InitConfiguration", {}).get("skipPhases") or []
    if isinstance(skipped, list) and any(phase in _KUBE_PROXY_SKIPPED for phase in skipped):
        return  # no kube-proxy, nothing to configure
    proxy = documents.get("KubeProxyConfiguration")
    if proxy is None:
        report(
            f"the kubeadm configuration of {resource.name!r} has no KubeProxyConfiguration, so kube-proxy keeps "
            "its default conntrack.maxPerCore and dies in a container on 'nf_conntrack_max: permission denied'. "
            "Add a KubeProxyConfiguration with conntrack: {maxPerCore: 0}."
        )
        return
    conntrack = proxy.get("conntrack")
    value = conntrack.get("maxPerCore") if isinstance(conntrack, dict) else None
    if isinstance(value, bool) or value != 0:
        shown = "unset" if value is None else repr(value)
        report(
            f"the KubeProxyConfiguration of {resource.name!r} has conntrack.maxPerCore {shown}; kube-proxy then "
            "writes nf_conntrack_max, which a container may not ('permission denied'), and crash-loops. "
            "Set conntrack.maxPerCore: 0."
        )


KUBE_PROXY_CONNTRACK_UNMANAGED = resource_policy(
    "kube-proxy-conntrack-unmanaged",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="The kubeadm configuration on the init Command's stdin has a KubeProxyConfiguration with "
    "conntrack.maxPerCore: 0; otherwise kube-proxy tries to write nf_conntrack_max, which a container may "
    "not, and dies on 'permission denied'.",
    fix="render KubeProxyConfiguration with conntrack: {maxPerCore: 0} (kindling/kubeadm_config.py).",
    validate=_check_conntrack,
)


def _check_kubeadm_api(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.COMMAND or not shapes.is_step(resource, contract.CONTROL_PLANE_TYPE, contract.INIT_STEP):
        return
    documents, _ = init_config(resource)
    if documents is None:
        return  # unknown, or reported by kube-proxy-conntrack-unmanaged
    cluster = documents.get("ClusterConfiguration")
    if cluster is None:
        report(
            f"the kubeadm configuration of {resource.name!r} has no ClusterConfiguration, so kubeadm picks a "
            "Kubernetes version on its own. Add one with kubernetesVersion: vMAJOR.MINOR.PATCH."
        )
        return
    text = cluster.get("kubernetesVersion")
    version = kubernetes_version(documents)
    if version is None:
        report(
            f"the ClusterConfiguration of {resource.name!r} has kubernetesVersion {text!r}, not one exact release; "
            "kubeadm would resolve it online. Give vMAJOR.MINOR.PATCH."
        )
        return
    try:
        expected = catalog.traits_for(version).kubeadm_api
    except LookupError as exc:
        report(f"the ClusterConfiguration of {resource.name!r}: {exc}; kindling knows no kubeadm API for it.")
        return
    for kind, document in documents.items():
        if shapes.is_kubeadm_document(document) and document.get("apiVersion") != expected:
            report(
                f"the {kind} of {resource.name!r} uses {document.get('apiVersion')} but kindling renders and tests "
                f"{expected} for Kubernetes {version} (v1beta2 up to 1.22, v1beta3 for 1.23-1.30, v1beta4 from 1.31); "
                f"kubeadm refuses an API newer than its own and may read an older one differently. Render it with "
                f"apiVersion {expected}."
            )


KUBEADM_API_MATCHES_RELEASE = resource_policy(
    "kubeadm-api-matches-release",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="The init Command's ClusterConfiguration names one exact kubernetesVersion, and every kubeadm "
    "document uses the API kindling renders and tests for that release (v1beta2 up to 1.22, v1beta3 for "
    "1.23-1.30, v1beta4 from 1.31). kubeadm reads some older APIs for a while (v1beta2 until 1.26, v1beta3 "
    "until 1.35) and none newer than its own; a document in another API than the tested one is refused here.",
    fix="render the configuration with the catalog's kubeadm API for the release (catalog.KUBEADM_API_RULES).",
    validate=_check_kubeadm_api,
)


def node_image(resources: list[Resource]) -> tuple[Resource, dict[str, Any]] | None:
    for resource in resources:
        if resource.type != shapes.REMOTE_IMAGE:
            continue
        build = resource.get("build")
        if isinstance(build, dict) and isinstance(build.get("buildArgs"), dict):
            return resource, build["buildArgs"]
    return None


def _effective_cgroup_driver(documents: dict[str, dict[str, Any]], version: semver.Version) -> str:
    driver = documents.get("KubeletConfiguration", {}).get("cgroupDriver")
    if isinstance(driver, str):
        return driver
    return "systemd" if minor_of(version) >= (1, 22) else "cgroupfs"  # kubeadm's default


def _check_image_matches_config(resources: list[Resource], args: StackValidationArgs, report: ReportViolation) -> None:
    init, image = find_init(resources), node_image(resources)
    if init is None or image is None:
        # Silent: needs the kubeadm init Command and a node image built from build arguments.
        return
    documents, _ = init_config(init)
    version = kubernetes_version(documents) if documents else None
    if documents is None or version is None:
        return  # unknown, or reported by the init Command's own policies
    image_resource, build_args = image
    release = f"v{version}"

    def mismatch(what: str, got: Any, fix: str) -> None:
        report(
            f"the node image {image_resource.name!r} has {what} {got!r}, but the kubeadm configuration of "
            f"{init.name!r} deploys Kubernetes {release}; {fix}",
            image_resource.urn,
        )

    built = build_args.get("KUBERNETES_VERSION")
    if isinstance(built, str) and built.removeprefix("v") != str(version):
        mismatch("KUBERNETES_VERSION", built, "kubeadm would deploy a release its own binaries do not match.")
    manifest = build_args.get("KINDLING_ARTIFACTS")
    if isinstance(manifest, str):
        versions = shapes.artifact_versions(manifest)
        for name in shapes.KUBERNETES_ARTIFACTS:
            if name in versions and versions[name] != str(version):
                mismatch(f"{name} v{versions[name]}", versions[name], f"install {name} {release} in the image.")
    driver = build_args.get("CGROUP_DRIVER")
    expected_driver = _effective_cgroup_driver(documents, version)
    if isinstance(driver, str) and driver != expected_driver:
        mismatch(
            "containerd's CGROUP_DRIVER",
            driver,
            f"its kubelet uses the {expected_driver} driver and pods fail when the two disagree. "
            "Build the image with the kubelet's cgroup driver.",
        )
    pause = build_args.get("PAUSE_IMAGE")
    repository = documents.get("ClusterConfiguration", {}).get("imageRepository")
    try:
        pause_version = catalog.traits_for(version).pause_version
    except LookupError:
        pause_version = None
    if isinstance(pause, str) and isinstance(repository, str) and pause_version:
        expected = f"{repository}/pause:{pause_version}"
        if pause != expected:
            mismatch(
                "PAUSE_IMAGE",
                pause,
                f"containerd would need {pause} while kubeadm pre-pulls {expected}, so pods cannot start "
                "without registry access. Configure containerd with kubeadm's pause image.",
            )


NODE_IMAGE_MATCHES_KUBEADM_CONFIG = stack_policy(
    "node-image-matches-kubeadm-config",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="The node image is built for the release the kubeadm configuration deploys: its KUBERNETES_VERSION "
    "and kubeadm/kubelet/kubectl artifacts are that release, its containerd cgroup driver is the kubelet's, "
    "and its pause image is the one kubeadm pre-pulls; a mismatch fails kubeadm init or leaves pods unable "
    "to start.",
    fix="build the node image and the kubeadm configuration from the same spec (cluster.py).",
    validate=_check_image_matches_config,
)
