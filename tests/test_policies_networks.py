"""The network policy (policies/networks.py): the cluster's networks do not overlap."""

from __future__ import annotations

import pytest

from tests.policy_args import UNKNOWN
from tests.policy_fixtures import (
    CALICO,
    DOCKER_NETWORK,
    FLANNEL,
    INIT,
    NETWORKS,
    changed,
    check_stack,
    cluster,
    kind,
    with_documents,
)

# --- cluster-networks-consistent --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "other"),
    [
        ("podSubnet", "10.30.0.0/16", "Docker network 'network'"),
        ("serviceSubnet", "10.244.128.0/20", "ClusterConfiguration networking.podSubnet"),
        ("podSubnet", "10.96.0.0/16,fd00::/48", "ClusterConfiguration networking.serviceSubnet"),
    ],
)
def test_overlapping_subnets_are_reported(key, value, other):
    def edit(docs):
        kind(docs, "ClusterConfiguration")["networking"][key] = value

    messages = check_stack(NETWORKS, cluster(kubeadm_init=with_documents(INIT, edit)))
    assert any("overlaps" in m and other in m for m in messages)


def test_calico_pool_outside_the_pod_subnet_is_reported():
    calico = changed(CALICO, "values.installation.calicoNetwork.ipPools.0.cidr", "192.168.0.0/16")
    (message,) = check_stack(NETWORKS, cluster(calico=calico))
    assert "the calico release 'calico' gives pods 192.168.0.0/16" in message


def test_flannel_pod_cidr_must_be_the_pod_subnet():
    assert check_stack(NETWORKS, cluster(calico=FLANNEL)) == []
    (message,) = check_stack(NETWORKS, cluster(calico=changed(FLANNEL, "values.podCidr", "10.244.0.0/24")))
    assert "the flannel release 'calico' gives pods 10.244.0.0/24" in message


def test_networks_skip_what_a_preview_does_not_know():
    calico = changed(CALICO, "values.installation.calicoNetwork.ipPools.0.cidr", UNKNOWN)
    network = changed(DOCKER_NETWORK, "ipamConfigs", UNKNOWN)
    assert check_stack(NETWORKS, cluster(calico=calico, network=network)) == []
    assert check_stack(NETWORKS, cluster(kubeadm_init=changed(INIT, "stdin", UNKNOWN))) == []
