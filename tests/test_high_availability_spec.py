"""Several control planes in the domain: what is accepted, the names and addresses, the kubeadm
configuration each node reads, and the load balancer's HAProxy configuration."""

import ipaddress

import pytest
import yaml

from kindling.config import SpecError
from kindling.haproxy_config import render_haproxy_config
from kindling.kubeadm_config import render_control_plane_join_config, render_init_config, render_join_config
from kindling.spec import build_spec
from tests.support import documents_by_kind, stack_config, stack_names

STACK = "k8s-1-19-1"
TOKEN, CA_HASH, KEY = "@T@", "@H@", "@K@"


def spec_of(stack: str = STACK, **raw: str):
    return build_spec({**stack_config(stack), **raw}, stack)


def kubelet_args(document: dict) -> dict[str, str]:
    """kubeletExtraArgs as a map: v1beta4 lists them as {name, value}."""
    args = document["nodeRegistration"]["kubeletExtraArgs"]
    return args if isinstance(args, dict) else {arg["name"]: arg["value"] for arg in args}


def refusal(**raw: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        spec_of(**raw)
    return caught.value.problems


@pytest.mark.parametrize("count", ["0", "2", "4", "6", "-1"])
def test_only_one_three_or_five_control_planes(count):
    assert refusal(controlPlanes=count) == [f"kindling:controlPlanes: {int(count)} is out of range; allowed: 1, 3 or 5"]


def test_a_control_plane_count_that_is_no_number_is_refused():
    assert refusal(controlPlanes="three") == [
        "kindling:controlPlanes: 'three' is not a whole number; allowed: 1, 3 or 5"
    ]


def test_one_control_plane_by_default_and_nothing_highly_available():
    spec = spec_of()
    assert spec.control_planes == 1 and not spec.highly_available
    assert documents_by_kind(render_init_config(spec))["ClusterConfiguration"]["controlPlaneEndpoint"] == (
        f"{STACK}-control-plane:6443"
    )


def test_names_and_fixed_addresses_of_control_planes_workers_and_the_load_balancer():
    spec = spec_of(controlPlanes="3", workers="2")
    assert spec.node_names == [
        f"{STACK}-control-plane",
        f"{STACK}-control-plane-2",
        f"{STACK}-control-plane-3",
        f"{STACK}-worker-1",
        f"{STACK}-worker-2",
    ]
    assert [str(spec.node_ip(i)) for i in range(5)] == [f"10.19.1.{n}" for n in (2, 3, 4, 5, 6)]
    assert spec.load_balancer_name == f"{STACK}-lb"
    assert spec.load_balancer_ip == ipaddress.IPv4Address("10.19.1.254")


def test_the_load_balancer_takes_an_address_in_a_small_node_subnet_too():
    assert refusal(controlPlanes="5", nodeSubnet="10.30.0.0/29") == [
        "kindling:controlPlanes: 5 control planes and their load balancer do not fit in kindling:nodeSubnet "
        "10.30.0.0/29; give a larger subnet"
    ]
    assert refusal(controlPlanes="3", nodeSubnet="10.30.0.0/29", workers="2") == [
        "kindling:workers: 2 nodes do not fit in kindling:nodeSubnet 10.30.0.0/29; allowed: 0 to 1"
    ]
    spec = spec_of(controlPlanes="3", nodeSubnet="10.30.0.0/29", workers="1")
    addresses = {spec.node_ip(i) for i in range(4)} | {spec.load_balancer_ip}
    assert len(addresses) == 5 and all(a in spec.node_subnet for a in addresses)
    assert spec.load_balancer_ip not in (spec.gateway_ip, spec.node_subnet.broadcast_address)


@pytest.mark.parametrize("stack", stack_names())
def test_every_node_reaches_the_api_through_the_load_balancer(stack):
    spec = spec_of(stack, controlPlanes="3", workers="1")
    cluster = documents_by_kind(render_init_config(spec))["ClusterConfiguration"]
    assert cluster["controlPlaneEndpoint"] == f"{stack}-lb:6443"
    init = documents_by_kind(render_init_config(spec))["InitConfiguration"]
    assert init["localAPIEndpoint"]["advertiseAddress"] == str(spec.node_ip(0)), "the API server's own address"
    worker = yaml.safe_load(render_join_config(spec, 0, TOKEN, CA_HASH))
    assert worker["discovery"]["bootstrapToken"]["apiServerEndpoint"] == f"{stack}-lb:6443"
    assert kubelet_args(worker)["node-ip"] == str(spec.node_ip(3))
    assert "controlPlane" not in worker


@pytest.mark.parametrize("stack", stack_names())
def test_a_further_control_plane_joins_as_one_with_placeholders_for_every_credential(stack):
    spec = spec_of(stack, controlPlanes="3", workers="1")
    document = yaml.safe_load(render_control_plane_join_config(spec, 2, TOKEN, CA_HASH, KEY))
    assert document["apiVersion"] == spec.traits.kubeadm_api and document["kind"] == "JoinConfiguration"
    assert document["controlPlane"] == {
        "localAPIEndpoint": {"advertiseAddress": str(spec.node_ip(2)), "bindPort": 6443},
        "certificateKey": KEY,
    }
    assert document["discovery"]["bootstrapToken"] == {
        "apiServerEndpoint": f"{stack}-lb:6443",
        "token": TOKEN,
        "caCertHashes": [CA_HASH],
    }
    assert kubelet_args(document)["node-ip"] == str(spec.node_ip(2))
    assert kubelet_args(document)["provider-id"].endswith(f"/{stack}-control-plane-3")
    assert "taints" not in document["nodeRegistration"], "kubeadm's, removed by the join script when no workers"


def test_a_control_planes_join_configuration_does_not_change_with_the_workers():
    # It shapes the node (its label): adding a worker must not replace a control plane.
    configs = {
        render_control_plane_join_config(spec_of(controlPlanes="3", workers=w), 1, TOKEN, CA_HASH, KEY) for w in "012"
    }
    assert len(configs) == 1


@pytest.mark.parametrize("count", [3, 5])
def test_haproxy_balances_tcp_across_every_control_plane_with_health_checks(count):
    spec = spec_of(controlPlanes=str(count))
    config = render_haproxy_config(spec)
    lines = [line.strip() for line in config.splitlines()]
    assert "mode tcp" in lines
    assert "bind *:6443" in lines
    assert "option httpchk GET /healthz" in lines
    servers = [line.split() for line in lines if line.startswith("server ")]
    assert [(s[1], s[2]) for s in servers] == [(spec.node_names[i], f"{spec.node_ip(i)}:6443") for i in range(count)]
    assert all("check" in s and "check-ssl" in s for s in servers)
