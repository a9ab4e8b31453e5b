"""The version catalog: one row per release, traits by version range."""

import itertools

import pytest

from kindling import catalog
from kindling.versions import is_exact_version, parse_release

# The kubeadm API table from the issue and the reference matrix, written out
# independently of the rule table it checks.
EXPECTED_TRAITS = {
    # version: (kubeadm API, cgroup driver, taints to remove)
    "1.18.2": ("v1beta2", "cgroupfs", ("node-role.kubernetes.io/master",)),
    "1.19.1": ("v1beta2", "cgroupfs", ("node-role.kubernetes.io/master",)),
    "1.22.0": ("v1beta2", "cgroupfs", ("node-role.kubernetes.io/master",)),
    "1.23.0": ("v1beta3", "cgroupfs", ("node-role.kubernetes.io/master",)),
    "1.24.0": (
        "v1beta3",
        "systemd",
        ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"),
    ),
    "1.25.0": ("v1beta3", "systemd", ("node-role.kubernetes.io/control-plane",)),
    "1.30.0": ("v1beta3", "systemd", ("node-role.kubernetes.io/control-plane",)),
    "1.31.0": ("v1beta4", "systemd", ("node-role.kubernetes.io/control-plane",)),
    "1.35.0": ("v1beta4", "systemd", ("node-role.kubernetes.io/control-plane",)),
}


@pytest.mark.parametrize("version", sorted(EXPECTED_TRAITS))
def test_traits_follow_the_release(version):
    api, driver, taints = EXPECTED_TRAITS[version]
    traits = catalog.traits_for(parse_release(version))
    assert traits.kubeadm_api == f"kubeadm.k8s.io/{api}"
    assert traits.cgroup_driver == driver
    assert traits.control_plane_taints == taints


def test_reference_release_is_the_seed_case():
    release = catalog.RELEASES["1.19.1"]
    assert (release.containerd, release.runc, release.cni_plugins, release.crictl, release.helm) == (
        "1.4.0",
        "1.0.0-rc92",
        "0.8.7",
        "1.18.0",
        "3.4.0",
    )
    assert release.base_image == "ubuntu:20.04"


def test_catalog_covers_every_reference_release():
    assert catalog.known_releases() == [
        "1.18.2", "1.19.1", "1.20.2", "1.21.1", "1.22.0", "1.23.0", "1.24.0", "1.25.0", "1.26.0",
        "1.27.0", "1.28.0", "1.29.0", "1.30.0", "1.31.0", "1.32.2", "1.33.4", "1.34.0", "1.35.0",
    ]  # fmt: skip


@pytest.mark.parametrize("version", sorted(catalog.RELEASES))
def test_every_component_is_pinned_exactly(version):
    release = catalog.RELEASES[version]
    for name in ("containerd", "runc", "cni_plugins", "crictl", "helm", "calico"):
        assert is_exact_version(getattr(release, name)), (version, name)
    assert ":" in release.base_image and not release.base_image.endswith(":latest")


RULE_TABLES = [
    catalog.KUBEADM_API_RULES,
    catalog.CGROUP_DRIVER_RULES,
    catalog.CONTROL_PLANE_TAINT_RULES,
    catalog.PAUSE_VERSION_RULES,
    catalog.KUBE_PROXY_MODE_RULES,
    catalog.CGROUP_V2_SUPPORTED_RULES,
    catalog.FAIL_CGROUP_V1_SETTING_RULES,
]


@pytest.mark.parametrize("rules", RULE_TABLES)
def test_rule_tables_are_contiguous_from_the_oldest_release(rules):
    assert rules[0].since == catalog.OLDEST_SUPPORTED
    for earlier, later in itertools.pairwise(rules):
        assert earlier.until == later.since
    assert rules[-1].until is None


def test_host_requirements():
    assert not catalog.traits_for(parse_release("1.18.2")).supports_cgroup_v2
    assert catalog.traits_for(parse_release("1.19.1")).supports_cgroup_v2
    assert not catalog.traits_for(parse_release("1.34.0")).needs_fail_cgroup_v1_false
    assert catalog.traits_for(parse_release("1.35.0")).needs_fail_cgroup_v1_false


def test_nftables_only_where_kube_proxy_offers_it_by_default():
    assert "nftables" not in catalog.traits_for(parse_release("1.30.0")).kube_proxy_modes
    assert "nftables" in catalog.traits_for(parse_release("1.31.0")).kube_proxy_modes


def test_releases_older_than_supported_are_refused():
    with pytest.raises(LookupError, match="oldest supported"):
        catalog.traits_for(parse_release("1.17.4"))


def test_containerd_config_schema():
    assert catalog.containerd_config_version("1.3.3") == 2
    assert catalog.containerd_config_version("1.7.18") == 2
    assert catalog.containerd_config_version("2.0.3") == 3
