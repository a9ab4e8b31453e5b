"""The kubeadm policies (policies/kubeadm.py): kube-proxy's conntrack, the kubeadm API of the release, and
the node image built for the kubeadm configuration.
"""

from __future__ import annotations

from typing import Any

import pytest

from kindling.kubeadm_config import render_init_config
from kindling.spec import build_spec
from tests.policy_args import UNKNOWN
from tests.policy_fixtures import (
    AT_INIT,
    AT_JOIN,
    AT_KUBECONFIG,
    AT_SYSTEMD,
    COMMAND,
    INIT,
    JOIN,
    KUBECONFIG,
    MANIFEST_1_30,
    MATCHES,
    NODE_IMAGE,
    SYSTEMD,
    changed,
    check,
    check_stack,
    cluster,
    kind,
    with_documents,
)

# --- kube-proxy-conntrack-unmanaged ----------------------------------------------------------------------

CONNTRACK = "kube-proxy-conntrack-unmanaged"


def test_conntrack_passes_the_rendered_config():
    assert check(CONNTRACK, COMMAND, INIT) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: kind(d, "KubeProxyConfiguration").__setitem__("conntrack", {"maxPerCore": 32768}), "32768"),
        (lambda d: kind(d, "KubeProxyConfiguration").__setitem__("conntrack", {"maxPerCore": False}), "False"),
        (lambda d: kind(d, "KubeProxyConfiguration").pop("conntrack"), "maxPerCore unset"),
        (lambda d: d.remove(kind(d, "KubeProxyConfiguration")), "has no KubeProxyConfiguration"),
    ],
    ids=["default-value", "false", "no-conntrack", "no-document"],
)
def test_conntrack_left_at_the_default_is_reported(edit, expected):
    (message,) = check(CONNTRACK, COMMAND, with_documents(INIT, edit))
    assert expected in message and "permission denied" in message


@pytest.mark.parametrize(
    ("stdin", "expected"), [(None, "carries no kubeadm configuration"), ("a: [", "cannot read"), ("- 1", "kind")]
)
def test_unreadable_or_missing_config_is_reported(stdin, expected):
    props = {k: v for k, v in INIT.items() if k != "stdin"} | ({"stdin": stdin} if stdin else {})
    (message,) = check(CONNTRACK, COMMAND, props)
    assert expected in message


def test_a_cluster_without_kube_proxy_needs_no_conntrack_setting():
    def edit(docs):
        docs.remove(kind(docs, "KubeProxyConfiguration"))
        kind(docs, "InitConfiguration")["skipPhases"] = ["addon/kube-proxy"]

    assert check(CONNTRACK, COMMAND, with_documents(INIT, edit)) == []


@pytest.mark.parametrize("path", ["stdin", "create"])
def test_conntrack_skips_what_a_preview_does_not_know(path):
    assert check(CONNTRACK, COMMAND, changed(INIT, path, UNKNOWN)) == []


@pytest.mark.parametrize("props, where", [(JOIN, AT_JOIN), (KUBECONFIG, AT_KUBECONFIG), (SYSTEMD, AT_SYSTEMD)])
def test_conntrack_ignores_other_commands(props, where):
    assert check(CONNTRACK, COMMAND, props, **where) == []


# --- kubeadm-api-matches-release ---------------------------------------------------------------------------

KUBEADM_API = "kubeadm-api-matches-release"


def init_for(version: str, api: str | None = None) -> dict[str, Any]:
    props = {**INIT, "stdin": render_init_config(build_spec({"kubernetesVersion": version}, "c"))}
    if api is None:
        return props

    def edit(docs):
        for doc in docs:
            if doc["apiVersion"].startswith("kubeadm.k8s.io/"):
                doc["apiVersion"] = f"kubeadm.k8s.io/{api}"

    return with_documents(props, edit)


@pytest.mark.parametrize(
    ("version", "api"),
    [("1.18.2", "v1beta2"), ("1.22.0", "v1beta2"), ("1.23.0", "v1beta3"), ("1.30.0", "v1beta3"), ("1.31.0", "v1beta4")],
)
def test_kubeadm_api_of_the_release_passes(version, api):
    assert check(KUBEADM_API, COMMAND, init_for(version, api)) == []
    assert check(KUBEADM_API, COMMAND, init_for(version)) == []


@pytest.mark.parametrize(
    ("version", "api", "expected"),
    [
        ("1.22.0", "v1beta3", "v1beta2"),
        ("1.23.0", "v1beta2", "v1beta3"),
        ("1.30.0", "v1beta4", "v1beta3"),
        ("1.31.0", "v1beta3", "v1beta4"),
    ],
)
def test_kubeadm_api_of_another_release_is_reported(version, api, expected):
    messages = check(KUBEADM_API, COMMAND, init_for(version, api))
    assert len(messages) == 2  # ClusterConfiguration and InitConfiguration
    assert all(f"renders and tests kubeadm.k8s.io/{expected}" in m for m in messages)


def test_one_document_in_another_api_is_reported():
    def edit(docs):
        kind(docs, "InitConfiguration")["apiVersion"] = "kubeadm.k8s.io/v1beta4"

    (message,) = check(KUBEADM_API, COMMAND, with_documents(INIT, edit))
    assert message.startswith("the InitConfiguration of 'kubeadm-init' uses kubeadm.k8s.io/v1beta4")


@pytest.mark.parametrize(
    ("version", "expected"),
    [("stable-1", "not one exact release"), ("v1.30", "not one exact release"), (None, "None"), ("v1.17.3", "older")],
)
def test_kubernetes_version_that_is_not_one_supported_release_is_reported(version, expected):
    def edit(docs):
        kind(docs, "ClusterConfiguration")["kubernetesVersion"] = version

    (message,) = check(KUBEADM_API, COMMAND, with_documents(INIT, edit))
    assert expected in message


def test_config_without_cluster_configuration_is_reported():
    (message,) = check(KUBEADM_API, COMMAND, with_documents(INIT, lambda d: d.remove(kind(d, "ClusterConfiguration"))))
    assert "has no ClusterConfiguration" in message


@pytest.mark.parametrize(
    "props, where", [(changed(INIT, "stdin", UNKNOWN), AT_INIT), (JOIN, AT_JOIN), (KUBECONFIG, AT_KUBECONFIG)]
)
def test_kubeadm_api_skips_unknowns_and_other_commands(props, where):
    assert check(KUBEADM_API, COMMAND, props, **where) == []


# --- node-image-matches-kubeadm-config -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("build.buildArgs.KUBERNETES_VERSION", "1.29.0", "KUBERNETES_VERSION '1.29.0'"),
        (
            "build.buildArgs.KINDLING_ARTIFACTS",
            MANIFEST_1_30.replace("v1.30.0/bin/linux/{arch}/kubelet", "v1.30.1/bin/linux/{arch}/kubelet"),
            "kubelet v1.30.1",
        ),
        ("build.buildArgs.CGROUP_DRIVER", "cgroupfs", "its kubelet uses the systemd driver"),
        ("build.buildArgs.PAUSE_IMAGE", "registry.k8s.io/pause:3.8", "kubeadm pre-pulls registry.k8s.io/pause:3.9"),
    ],
)
def test_node_image_built_for_something_else_is_reported(path, value, expected):
    (message,) = check_stack(MATCHES, cluster(node_image=changed(NODE_IMAGE, path, value)))
    assert expected in message and "deploys Kubernetes v1.30.0" in message


def test_kubelet_cgroup_driver_default_is_kubeadms():
    without = with_documents(INIT, lambda d: kind(d, "KubeletConfiguration").pop("cgroupDriver"))
    assert check_stack(MATCHES, cluster(kubeadm_init=without)) == []  # kubeadm >= 1.22 defaults to systemd
    image = changed(NODE_IMAGE, "build.buildArgs.CGROUP_DRIVER", "cgroupfs")
    assert len(check_stack(MATCHES, cluster(kubeadm_init=without, node_image=image))) == 1


def test_prebuilt_node_image_is_not_checked():
    assert check_stack(MATCHES, cluster(node_image={"name": "ctr_kubernetes-v1.30.0-base:v0.1"})) == []


def test_node_image_match_skips_what_a_preview_does_not_know():
    assert check_stack(MATCHES, cluster(kubeadm_init=changed(INIT, "stdin", UNKNOWN))) == []
    image = changed(
        changed(NODE_IMAGE, "build.buildArgs.KUBERNETES_VERSION", UNKNOWN), "build.buildArgs.CGROUP_DRIVER", "x"
    )
    assert len(check_stack(MATCHES, cluster(node_image=image))) == 1
