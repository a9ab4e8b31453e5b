"""The cluster spec: what is accepted, what is refused, and how refusals read."""

import ipaddress
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kindling import catalog
from kindling.config import CNI_CHOICES, SECURITY_MODES, SpecError
from kindling.kubeadm_config import render_init_config, render_join_config
from kindling.spec import build_spec
from kindling.versions import is_exact_version, parse_release

STACK = "k8s-1-19-1"


def refusal(raw: dict) -> list[str]:
    with pytest.raises(SpecError) as caught:
        build_spec({"kubernetesVersion": "1.19.1", **raw}, STACK)
    return caught.value.problems


def test_defaults_for_the_reference_release():
    spec = build_spec({"kubernetesVersion": "1.19.1"}, STACK)
    assert spec.components == catalog.RELEASES["1.19.1"]
    assert spec.workers == 0
    assert spec.api_server_address == ipaddress.IPv4Address("127.0.0.1")
    assert spec.api_server_port == 0
    assert spec.node_subnet == ipaddress.IPv4Network("10.19.1.0/24")
    assert spec.cni == "flannel" and spec.node_security == "privileged"
    assert spec.node_names == ["k8s-1-19-1-control-plane"]


def test_component_overrides_replace_only_what_they_name():
    spec = build_spec({"kubernetesVersion": "1.19.1", "components": json.dumps({"containerd": "1.4.3"})}, STACK)
    assert spec.components.containerd == "1.4.3"
    assert spec.components.runc == "1.0.0-rc92"


def test_release_outside_the_catalog_with_every_component():
    components = {
        "containerd": "2.2.1",
        "runc": "1.3.4",
        "cniPlugins": "1.8.0",
        "crictl": "1.36.0",
        "helm": "4.1.0",
        "calico": "v3.31.3",
        "baseImage": "ubuntu:24.04",
    }
    spec = build_spec({"kubernetesVersion": "1.36.0", "components": json.dumps(components)}, "k8s-1-36-0")
    assert spec.traits.kubeadm_api == "kubeadm.k8s.io/v1beta4"
    assert spec.components.crictl == "1.36.0"


# --- each class of bad input, refused with the key named --------------------------------------


@pytest.mark.parametrize("version", ["1.19", "v1.19.1x", "1.19.1.0", "latest", "", "1.19.x"])
def test_malformed_kubernetes_version(version):
    (problem,) = refusal({"kubernetesVersion": version})
    assert problem.startswith("kindling:kubernetesVersion:")
    assert "MAJOR.MINOR.PATCH" in problem


def test_release_outside_the_catalog_needs_every_component():
    (problem,) = refusal({"kubernetesVersion": "1.36.0", "components": json.dumps({"containerd": "2.2.1"})})
    assert problem.startswith("kindling:kubernetesVersion: 1.36.0 is not in the version catalog")
    assert "1.19.1" in problem  # the known releases are listed
    assert "missing: runc, cniPlugins, crictl, helm, calico, baseImage" in problem


def test_release_older_than_supported():
    (problem,) = refusal({"kubernetesVersion": "1.17.4"})
    assert problem.startswith("kindling:kubernetesVersion:") and "1.18" in problem


def test_overlapping_subnets_name_both_keys():
    (problem,) = refusal({"podSubnet": "10.100.0.0/16"})
    assert "kindling:podSubnet 10.100.0.0/16" in problem
    assert "kindling:serviceSubnet 10.96.0.0/12" in problem


@pytest.mark.parametrize("port", ["-1", "65536", "70000"])
def test_port_out_of_range(port):
    (problem,) = refusal({"apiServerPort": port})
    assert problem.startswith("kindling:apiServerPort:")
    assert "1-65535" in problem


def test_negative_worker_count():
    (problem,) = refusal({"workers": "-2"})
    assert problem == "kindling:workers: -2 is out of range; allowed: 0 or more"


def test_unknown_cni():
    (problem,) = refusal({"cni": "weave"})
    assert problem.startswith("kindling:cni: got 'weave'")
    assert all(choice in problem for choice in CNI_CHOICES)


def test_unknown_security_mode():
    (problem,) = refusal({"nodeSecurity": "root"})
    assert problem.startswith("kindling:nodeSecurity: got 'root'")
    assert all(mode in problem for mode in SECURITY_MODES)


def test_chart_without_a_pinned_version():
    charts = [
        {"name": "ok", "repo": "https://charts.example", "chart": "ok", "version": "1.0.0"},
        {"name": "nover", "repo": "https://charts.example", "chart": "nover"},
    ]
    (problem,) = refusal({"charts": json.dumps(charts)})
    assert problem.startswith("kindling:charts[1]:")
    assert "pin an exact version" in problem


@pytest.mark.parametrize("version", ["^1.2.0", "~1.2", ">=1.0.0", "1.x", "*", "latest", ""])
def test_chart_version_ranges_are_not_pins(version):
    charts = [{"name": "a", "repo": "https://charts.example", "chart": "a", "version": version}]
    (problem,) = refusal({"charts": json.dumps(charts)})
    assert problem.startswith("kindling:charts[0].version:")


def test_misspelt_key_is_refused_with_a_suggestion():
    (problem,) = refusal({"worker": "2"})
    assert problem == "kindling:worker is not a kindling setting; did you mean kindling:workers?"


def test_every_problem_is_reported_at_once():
    problems = refusal({"cni": "weave", "workers": "-1", "nodeSecurity": "root"})
    assert [p.split(":")[1] for p in problems] == ["workers", "cni", "nodeSecurity"]


def test_nftables_refused_before_it_exists_without_feature_gates():
    (problem,) = refusal({"kubeProxyMode": "nftables"})
    assert problem.startswith("kindling:kubeProxyMode:") and "iptables, ipvs" in problem


@pytest.mark.parametrize("image", ["ubuntu", "ubuntu:latest", "registry:5000/node"])
def test_unpinned_images_are_refused(image):
    (problem,) = refusal({"nodeImage": image})
    assert problem.startswith("kindling:nodeImage:")


def test_bad_stack_name():
    with pytest.raises(SpecError, match="stack name 'Dev_Stack'"):
        build_spec({"kubernetesVersion": "1.19.1"}, "Dev_Stack")


# --- properties ----------------------------------------------------------------------------------

RELEASES = st.sampled_from(catalog.known_releases())
PINNED = st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 30), st.integers(0, 30), st.integers(0, 30))
LABEL = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)
CHART = st.fixed_dictionaries(
    {
        "name": LABEL,
        "chart": LABEL,
        "repo": st.just("https://charts.example.org"),
        "version": PINNED,
        "namespace": LABEL,
        "values": st.dictionaries(LABEL, st.one_of(st.integers(), st.booleans(), LABEL), max_size=3),
    }
)
# Pod subnets from 10.128.0.0/9, service subnets from 172.16.0.0/12: disjoint
# from each other and from the automatic node subnet 10.<minor>.<patch>.0/24.
POD_SUBNETS = st.builds(lambda n, p: f"10.{128 + n}.0.0/{p}", st.integers(0, 100), st.integers(16, 24))
SERVICE_SUBNETS = st.builds(lambda n: f"172.{16 + n}.0.0/16", st.integers(0, 15))


@st.composite
def accepted_configs(draw):
    version = draw(RELEASES)
    modes = catalog.traits_for(parse_release(version)).kube_proxy_modes
    charts = draw(st.lists(CHART, max_size=3, unique_by=lambda c: (c["namespace"], c["name"])))
    return {
        "kubernetesVersion": version,
        "workers": str(draw(st.integers(0, 5))),
        "apiServerPort": str(draw(st.integers(0, 65535))),
        "podSubnet": draw(POD_SUBNETS),
        "serviceSubnet": draw(SERVICE_SUBNETS),
        "kubeProxyMode": draw(st.sampled_from(modes)),
        "cni": draw(st.sampled_from(CNI_CHOICES)),
        "nodeSecurity": draw(st.sampled_from(SECURITY_MODES)),
        "charts": json.dumps(charts),
    }


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(accepted_configs())
def test_any_accepted_input_renders_valid_kubeadm_yaml(raw):
    spec = build_spec(raw, "prop")
    documents = list(yaml.safe_load_all(render_init_config(spec)))
    kinds = [d["kind"] for d in documents]
    assert kinds == ["ClusterConfiguration", "InitConfiguration", "KubeletConfiguration", "KubeProxyConfiguration"]
    assert documents[0]["apiVersion"] == documents[1]["apiVersion"] == spec.traits.kubeadm_api
    assert documents[0]["kubernetesVersion"] == f"v{raw['kubernetesVersion']}"
    assert documents[0]["networking"] == {"podSubnet": raw["podSubnet"], "serviceSubnet": raw["serviceSubnet"]}
    assert documents[3]["conntrack"] == {"maxPerCore": 0}
    assert documents[3]["mode"] == raw["kubeProxyMode"]
    for worker in range(spec.workers):
        (join,) = yaml.safe_load_all(render_join_config(spec, worker, "abcdef.0123456789abcdef", "sha256:" + "0" * 64))
        assert join["nodeRegistration"]["criSocket"] == "unix:///run/containerd/containerd.sock"


def assert_refused(raw: dict, key: str) -> None:
    with pytest.raises(SpecError) as caught:
        build_spec(raw, "prop")
    assert any(problem.startswith(f"kindling:{key}") for problem in caught.value.problems), caught.value.problems


@given(st.text(max_size=20).filter(lambda t: not is_exact_version(t)))
def test_any_malformed_version_is_refused(text):
    assert_refused({"kubernetesVersion": text}, "kubernetesVersion")


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=65536)))
def test_any_port_out_of_range_is_refused(port):
    assert_refused({"kubernetesVersion": "1.19.1", "apiServerPort": str(port)}, "apiServerPort")


@given(st.integers(max_value=-1))
def test_any_negative_worker_count_is_refused(workers):
    assert_refused({"kubernetesVersion": "1.19.1", "workers": str(workers)}, "workers")


@given(st.text(max_size=12).filter(lambda t: t not in CNI_CHOICES))
def test_any_unknown_cni_is_refused(cni):
    assert_refused({"kubernetesVersion": "1.19.1", "cni": cni}, "cni")


@given(st.text(max_size=12).filter(lambda t: t not in SECURITY_MODES))
def test_any_unknown_security_mode_is_refused(mode):
    assert_refused({"kubernetesVersion": "1.19.1", "nodeSecurity": mode}, "nodeSecurity")


@given(st.integers(8, 30), st.integers(8, 30))
def test_any_overlap_of_pod_and_service_subnets_is_refused(pod_prefix, service_prefix):
    pod = ipaddress.IPv4Network(f"172.20.0.0/{pod_prefix}", strict=False)
    service = ipaddress.IPv4Network(f"172.20.0.0/{service_prefix}", strict=False)
    assert_refused({"kubernetesVersion": "1.19.1", "podSubnet": str(pod), "serviceSubnet": str(service)}, "podSubnet")


@given(st.one_of(st.none(), st.sampled_from(["", "latest", "^1.0.0", "~2", ">=1", "1.x", "*"])))
def test_any_unpinned_chart_is_refused(version):
    chart = {"name": "a", "repo": "https://charts.example", "chart": "a"}
    if version is not None:
        chart["version"] = version
    assert_refused({"kubernetesVersion": "1.19.1", "charts": json.dumps([chart])}, "charts[0]")


def test_the_automatic_node_subnet_never_overlaps_the_clusters_own_networks():
    components = {"containerd": "1.7.15", "runc": "1.1.12", "cniPlugins": "1.4.1", "crictl": "1.29.0",
                  "helm": "3.15.0", "calico": "v3.28.5", "baseImage": "ubuntu:22.04"}  # fmt: skip
    # 10.<minor>.<patch>.0/24 would be 10.99.0.0/24, inside the default service subnet 10.96.0.0/12.
    spec = build_spec({"kubernetesVersion": "1.99.0", "components": json.dumps(components)}, "k8s-1-99-0")
    assert not spec.node_subnet.overlaps(spec.service_subnet) and not spec.node_subnet.overlaps(spec.pod_subnet)
    assert spec.node_subnet == ipaddress.IPv4Network("10.255.0.0/24") and spec.node_subnet_auto
    catalog_stack = build_spec({"kubernetesVersion": "1.19.1"}, "k8s-1-19-1")
    assert catalog_stack.node_subnet == ipaddress.IPv4Network("10.19.1.0/24"), "existing stacks keep their subnet"
