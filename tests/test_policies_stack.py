"""The policies of policies/stack.py: Helm charts and node images pinned, components within the catalog's
version skew.
"""

from __future__ import annotations

import pytest

from tests.policy_args import UNKNOWN, run_with_urns, stack_args
from tests.policy_fixtures import (
    BY_NAME,
    CALICO,
    COMMAND,
    CONTAINER,
    DELETE,
    FLANNEL,
    INIT,
    K8S_PROVIDER,
    MANIFEST_1_30,
    NODE,
    NODE_IMAGE,
    RELEASE,
    REMOTE_IMAGE,
    SKEW,
    changed,
    check,
    check_stack,
    cluster,
    kind,
    with_documents,
)

# --- helm-chart-pinned / node-image-pinned -----------------------------------------------------------------

CHART = "helm-chart-pinned"
IMAGE = "node-image-pinned"


@pytest.mark.parametrize("version", ["4.0.1", "v3.18.6-1", "1.2.3+build.7"])
def test_pinned_chart_passes(version):
    assert check(CHART, RELEASE, {**CALICO, "version": version}) == []


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        (DELETE, "no version"),
        ("", "no version"),
        ("latest", "version 'latest'"),
        ("^4.0.0", "version '^4.0.0'"),
        ("4.0", "version '4.0'"),
        (">=1.0.0", "version '>=1.0.0'"),
        ("4.x", "version '4.x'"),
    ],
)
def test_unpinned_chart_is_reported(version, shown):
    (message,) = check(CHART, RELEASE, changed(CALICO, "version", version))
    assert f"has {shown}" in message and "Pin one exact chart version" in message


def test_chart_pinning_skips_unknowns_and_other_resources():
    assert check(CHART, RELEASE, changed(CALICO, "version", UNKNOWN)) == []
    assert check(CHART, K8S_PROVIDER, {"version": "latest"}) == []


@pytest.mark.parametrize(
    ("type_", "key", "reference"),
    [
        (REMOTE_IMAGE, "name", "kindling/c:v1.30.0-0123456789ab"),
        (REMOTE_IMAGE, "name", "ctr_kubernetes-v1.19.1-base:v0.1"),
        (REMOTE_IMAGE, "name", "localhost:5000/node:1.0"),
        (REMOTE_IMAGE, "name", "ubuntu@sha256:" + "0" * 64),
        (CONTAINER, "image", "sha256:" + "0" * 64),
        (CONTAINER, "image", "registry:2.8.3"),
    ],
)
def test_pinned_image_passes(type_, key, reference):
    assert check(IMAGE, type_, {key: reference}) == []


@pytest.mark.parametrize(
    ("type_", "key", "reference", "expected"),
    [
        (REMOTE_IMAGE, "name", "kindling/c", "has no tag"),
        (REMOTE_IMAGE, "name", "kindling/c:latest", "latest tag"),
        (REMOTE_IMAGE, "name", "localhost:5000/node", "has no tag"),
        (REMOTE_IMAGE, "name", "ubuntu@sha256:abc", "malformed digest"),
        (CONTAINER, "image", "nginx", "has no tag"),
    ],
)
def test_unpinned_image_is_reported(type_, key, reference, expected):
    (message,) = check(IMAGE, type_, {key: reference})
    assert expected in message


def test_image_pinning_skips_unknowns_and_other_resources():
    assert check(IMAGE, REMOTE_IMAGE, {"name": UNKNOWN}) == []
    assert check(IMAGE, CONTAINER, {**NODE, "image": UNKNOWN}) == []
    assert check(IMAGE, COMMAND, {"create": "docker pull nginx"}) == []


# --- component-version-skew -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        ("v1.7.15/containerd-1.7.15", "v1.6.21/containerd-1.6.21", "containerd 1.6.21"),
        ("v1.1.12/runc", "v1.2.0/runc", "runc 1.2.0"),
        ("helm-v3.15.0-linux", "helm-v4.0.4-linux", "helm 4.0.4"),
        ("v1.29.0/crictl-v1.29.0", "v1.30.0/crictl-v1.30.0", "crictl 1.30.0"),
        ("v1.4.1/cni-plugins-linux-{arch}-v1.4.1", "v1.5.1/cni-plugins-linux-{arch}-v1.5.1", "cniPlugins 1.5.1"),
    ],
)
def test_image_component_off_the_catalogs_line_is_reported(line, replacement, expected):
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace(line, replacement))
    ((message, urn),) = _run_stack_with_urns(SKEW, cluster(node_image=image))
    assert message.startswith(expected) and "Kubernetes 1.30.0" in message and urn.endswith("::node-image")


def test_component_patch_updates_are_within_the_skew():
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace("1.7.15", "1.7.27"))
    assert check_stack(SKEW, cluster(node_image=image)) == []


def test_cni_chart_off_the_catalogs_line_is_reported():
    ((message, urn),) = _run_stack_with_urns(SKEW, cluster(calico={**CALICO, "version": "v3.30.0"}))
    assert message.startswith("calico v3.30.0 ('calico')") and "is v3.28.5" in message and urn.endswith("::calico")


def test_flannel_chart_is_compared_to_the_catalogs_flannel():
    assert check_stack(SKEW, cluster(calico=FLANNEL)) == []
    assert "flannel v0.25.1" in check_stack(SKEW, cluster(calico={**FLANNEL, "version": "v0.25.1"}))[0]


def test_release_outside_the_catalog_uses_the_row_of_its_minor():
    init = with_documents(INIT, lambda d: kind(d, "ClusterConfiguration").__setitem__("kubernetesVersion", "v1.30.7"))
    assert check_stack(SKEW, cluster(kubeadm_init=init)) == []
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace("1.7.15", "2.0.0"))
    (message,) = check_stack(SKEW, cluster(kubeadm_init=init, node_image=image))
    assert "Kubernetes 1.30.7" in message and "for Kubernetes 1.30.0 is 1.7.15" in message


def test_minor_outside_the_catalog_is_not_checked():
    init = with_documents(INIT, lambda d: kind(d, "ClusterConfiguration").__setitem__("kubernetesVersion", "v1.36.0"))
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", MANIFEST_1_30.replace("1.7.15", "2.2.0"))
    assert check_stack(SKEW, cluster(kubeadm_init=init, node_image=image)) == []


def test_skew_skips_what_a_preview_does_not_know():
    assert check_stack(SKEW, cluster(kubeadm_init=changed(INIT, "stdin", UNKNOWN))) == []
    image = changed(NODE_IMAGE, "build.buildArgs.KINDLING_ARTIFACTS", UNKNOWN)
    assert check_stack(SKEW, cluster(node_image=image, calico=changed(CALICO, "version", UNKNOWN))) == []


def _run_stack_with_urns(name, resources):
    return run_with_urns(BY_NAME[name], stack_args(resources))
