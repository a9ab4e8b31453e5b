"""What the stack pins: chart and image versions, and components on the catalog's known-good lines."""

from __future__ import annotations

from typing import Any

import semver
from pulumi_policy import ReportViolation, StackValidationArgs

from kindling import catalog
from kindling.versions import minor_of, parse_release
from policies import shapes
from policies.kubeadm import find_init, init_config, kubernetes_version, node_image
from policies.registry import ADVISORY, MANDATORY, Severity, resource_policy, stack_policy
from policies.shapes import UNKNOWN, Resource


def _is_pinned_version(value: Any) -> bool:
    if not isinstance(value, str) or value in ("", "latest"):
        return False
    try:
        semver.Version.parse(value.removeprefix("v"))
    except ValueError:
        return False
    return True


def _check_chart_pinned(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.HELM_RELEASE:
        return
    version = resource.get("version")
    if version is UNKNOWN or _is_pinned_version(version):
        return
    shown = "no version" if version in (None, "") else f"version {version!r}"
    report(
        f"Helm release {resource.name!r} (chart {resource.get('chart')!r}) has {shown}, so Helm installs whatever "
        "the repository offers that day, which may not run on this Kubernetes release. Pin one exact chart "
        "version such as 4.0.1."
    )


HELM_CHART_PINNED = resource_policy(
    "helm-chart-pinned",
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    breaks="Every Helm release pins one exact chart version; without it Helm installs whatever is newest, "
    "which may not run on the stack's exact Kubernetes release.",
    fix="give the chart an exact version (kindling:charts[].version, or the catalog's CNI chart version).",
    validate=_check_chart_pinned,
)


def _check_image_pinned(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type == shapes.REMOTE_IMAGE:
        reference, what = resource.get("name"), "node image"
    elif resource.type == shapes.CONTAINER:
        reference, what = resource.get("image"), "image of container"
        if isinstance(reference, str) and reference.startswith("sha256:"):
            return  # an image id names exactly one image
    else:
        return
    if reference is UNKNOWN or not isinstance(reference, str):
        return
    problem = shapes.image_reference_problem(reference)
    if problem:
        report(
            f"{what} {resource.name!r}: {problem}, so the node may change under the cluster on the next pull or "
            "build. Tag it with a version (kindling tags built images v<release>-<digest>) or pin a sha256 digest."
        )


NODE_IMAGE_PINNED = resource_policy(
    "node-image-pinned",
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    breaks="Node images (and container images given by name) carry a version tag or a sha256 digest, never "
    "latest or no tag; otherwise the next pull or build silently changes what the nodes run.",
    fix="tag the image with a version or pin its digest (kindling:nodeImage accepts name:tag or name@sha256:...).",
    validate=_check_image_pinned,
)


_COMPONENT_KEYS = {"cni_plugins": "cniPlugins"}


def _catalog_row(version: semver.Version) -> tuple[str, catalog.Components] | None:
    """The catalog row of the release, else the row of the same minor (rows are one per minor)."""
    exact = catalog.catalog_release(version)
    if exact is not None:
        return str(version), exact
    for known in catalog.known_releases():
        if minor_of(parse_release(known)) == minor_of(version):
            return known, catalog.RELEASES[known]
    return None


def _check_version_skew(resources: list[Resource], args: StackValidationArgs, report: ReportViolation) -> None:
    init = find_init(resources)
    documents, _ = init_config(init) if init else (None, None)
    version = kubernetes_version(documents) if documents else None
    if version is None:
        # Silent: no kubeadm init Command with a known, exact kubernetesVersion.
        return
    row = _catalog_row(version)
    if row is None:
        # Silent outside the catalog's minors: a release the catalog has no row of the same minor for
        # has no known-good components to compare with; its components are the stack's own choice.
        return
    row_release, known_good = row
    found: list[tuple[str, str, Resource]] = []
    image = node_image(resources)
    if image is not None and isinstance(image[1].get("KINDLING_ARTIFACTS"), str):
        versions = shapes.artifact_versions(image[1]["KINDLING_ARTIFACTS"])
        for name, field in shapes.ARTIFACT_COMPONENTS.items():
            if name in versions:
                found.append((field, versions[name], image[0]))
    for resource in resources:
        component = shapes.cni_release(resource)
        if component and isinstance(resource.get("version"), str):
            found.append((component, resource.get("version"), resource))
    for field, actual, resource in found:
        good = getattr(known_good, field)
        try:
            same_line = minor_of(parse_release(actual)) == minor_of(parse_release(good))
        except ValueError:
            same_line = False
        if not same_line:
            key = _COMPONENT_KEYS.get(field, field)
            report(
                f"{key} {actual} ({resource.name!r}) is outside the supported skew of Kubernetes {version}: the "
                f"catalog's known-good {key} for Kubernetes {row_release} is {good}, and any patch of its minor line "
                f"is accepted. Use a {key} of that line, or accept the untested pairing (kindling:components.{key}).",
                resource.urn,
            )


COMPONENT_VERSION_SKEW = stack_policy(
    "component-version-skew",
    enforcement_level=ADVISORY,
    severity=Severity.MEDIUM,
    breaks="containerd, runc, CNI plugins, crictl and helm in the node image, and the Calico or flannel chart, "
    "are on the minor line (MAJOR.MINOR; any patch) of the catalog's known-good versions for the Kubernetes "
    "release (the row of the same Kubernetes minor when the exact release has none; silent outside the "
    "catalog). Other lines are untested with the release: a kubelet may not speak the runtime's CRI, a "
    "chart may not install.",
    fix="drop or correct the kindling:components override, or accept the untested pairing.",
    validate=_check_version_skew,
)
