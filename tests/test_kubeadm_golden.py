"""Golden tests of the kubeadm configuration.

1.19.1 is checked field by field against the configuration the docker_archive
v1.19.1 node boots with (tests/fixtures, copied from the steering repo's
reference). Every deliberate difference is listed below with its reason, and
the test fails if a listed difference no longer applies, so the list stays true.
v1beta3 (1.30.0) and v1beta4 (1.35.0) are checked against reviewed files in
tests/golden/.
"""

from pathlib import Path

import pytest

from kindling.kubeadm_config import render_init_config, render_join_config
from kindling.spec import build_spec
from tests.support import FIXTURES, documents_by_kind, flatten

GOLDEN = Path(__file__).resolve().parent / "golden"
TOKEN = "kndlng.0123456789abcdef"
CA_HASH = "sha256:" + "ab" * 32

# Values that are ours by design: node names, addresses and subnets.
OURS_DIFFER = {
    "ClusterConfiguration": {
        "clusterName": "the stack name names the cluster",
        "controlPlaneEndpoint": "our control-plane node's name",
        "networking.podSubnet": "kindling's default pod subnet (docker_archive uses Calico's 192.168.0.0/16)",
    },
    "InitConfiguration": {
        "localAPIEndpoint.advertiseAddress": "the node's fixed address on the cluster's network",
        "nodeRegistration.kubeletExtraArgs.node-ip": "the node's fixed address on the cluster's network",
        "nodeRegistration.kubeletExtraArgs.provider-id": "names our cluster and node",
    },
    "JoinConfiguration": {
        "discovery.bootstrapToken.apiServerEndpoint": "our control-plane node's name",
        "discovery.bootstrapToken.token": "issued by the control plane at run time, never fixed",
        "nodeRegistration.kubeletExtraArgs.node-ip": "the worker's fixed address",
        "nodeRegistration.kubeletExtraArgs.provider-id": "names our cluster and node",
    },
}
# Fields docker_archive has and we deliberately do not render.
REFERENCE_ONLY = {
    "InitConfiguration": {
        "bootstrapTokens[0].token": "a token written in the config is known to everyone; kubeadm makes a random one",
    },
    "JoinConfiguration": {
        "controlPlane.localAPIEndpoint.advertiseAddress": "our join configuration is for workers",
        "controlPlane.localAPIEndpoint.bindPort": "our join configuration is for workers",
        "discovery.bootstrapToken.unsafeSkipCAVerification": "workers pin the cluster CA's hash instead",
    },
}
# Fields we render that docker_archive does not.
OURS_ONLY = {
    "ClusterConfiguration": {
        "imageRepository": "pinned (and mirrorable); older kubeadm defaults to the retired k8s.gcr.io",
    },
    "JoinConfiguration": {
        "discovery.bootstrapToken.caCertHashes": "workers pin the cluster CA's hash",
    },
    "KubeletConfiguration": {
        "cgroupDriver": "stated explicitly so kubelet and containerd agree",
        "failSwapOn": "nodes share the host's swap",
    },
}


def rendered_1_19_1() -> dict:
    spec = build_spec({"kubernetesVersion": "1.19.1", "workers": "1"}, "k8s-1-19-1")
    text = render_init_config(spec) + "---\n" + render_join_config(spec, 0, TOKEN, CA_HASH)
    return documents_by_kind(text)


def reference_1_19_1() -> dict:
    return documents_by_kind((FIXTURES / "docker_archive-v1.19.1-kubeadm.conf").read_text())


@pytest.mark.parametrize(
    "kind",
    [
        "ClusterConfiguration",
        "InitConfiguration",
        "JoinConfiguration",
        "KubeletConfiguration",
        "KubeProxyConfiguration",
    ],
)
def test_1_19_1_matches_docker_archive_field_by_field(kind):
    ours = flatten(rendered_1_19_1()[kind])
    reference = flatten(reference_1_19_1()[kind])
    differ = OURS_DIFFER.get(kind, {})
    reference_only = REFERENCE_ONLY.get(kind, {})
    ours_only = OURS_ONLY.get(kind, {})

    for path in differ:
        assert path in ours and path in reference, f"{kind}.{path} listed as differing but not in both"
        assert ours[path] != reference[path], f"{kind}.{path} listed as differing but equal"
    for path in reference_only:
        assert path in reference and path not in ours, f"{kind}.{path} is not reference-only"
    for path in ours_only:
        assert path in ours and path not in reference, f"{kind}.{path} is not ours-only"

    compared = set(reference) - set(differ) - set(reference_only)
    assert compared == set(ours) - set(differ) - set(ours_only), f"{kind}: unexplained extra or missing fields"
    for path in sorted(compared):
        assert ours[path] == reference[path], f"{kind}.{path}: ours {ours[path]!r}, docker_archive {reference[path]!r}"


def test_1_19_1_conntrack_and_sync_period_are_the_container_safe_values():
    proxy = rendered_1_19_1()["KubeProxyConfiguration"]
    assert proxy["conntrack"] == {"maxPerCore": 0}
    assert proxy["iptables"] == {"minSyncPeriod": "1s"}


@pytest.mark.parametrize("version", ["1.30.0", "1.35.0"])
def test_golden_files_for_v1beta3_and_v1beta4(version):
    stack = "k8s-" + version.replace(".", "-")
    spec = build_spec({"kubernetesVersion": version, "workers": "1"}, stack)
    rendered = render_init_config(spec) + "---\n" + render_join_config(spec, 0, TOKEN, CA_HASH)
    golden = (GOLDEN / f"{stack}.yaml").read_text()
    assert documents_by_kind(rendered) == documents_by_kind(golden)
    assert rendered == golden, "same documents, different text: regenerate the golden file and review the diff"
