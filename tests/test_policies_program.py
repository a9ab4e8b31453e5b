"""The policy pack against the real program, and the pack as the Pulumi CLI runs it.

``run_program`` records what kindling registers for a stack under mocks;
``tests.policy_args`` turns those registrations into the arguments the analyzer
would build. Shipped stacks must come out clean; each deliberately broken spec
must trip the policy written for it, and only that one.
"""

from __future__ import annotations

import copy
import json
from functools import cache

import pytest
import yaml

from kindling import contract
from kindling.host import DockerHost
from policies import shapes
from policies.kindling_policies import POLICIES
from tests.policy_args import UNKNOWN, Finding, evaluate, mandatory, replaced
from tests.pulumi_harness import Deployment, Registration, run_program
from tests.support import ROOT, stack_config, stack_names

REFERENCE = "k8s-1-19-1"
POLICIES_DIR = ROOT / "policies"
INGRESS = [
    {
        "name": "ingress",
        "repo": "https://kubernetes.github.io/ingress-nginx",
        "chart": "ingress-nginx",
        "version": "4.0.1",
        "namespace": "ingress",
    }
]


@cache
def deployed(stack: str, **overrides: str) -> Deployment:
    return run_program(stack, {**stack_config(stack), **overrides})


def findings(registrations: list[Registration], config=None) -> list[Finding]:
    return evaluate(POLICIES, registrations, config)


def describe(found: list[Finding]) -> str:
    return "\n".join(f"{f.policy} ({f.level.value}): {f.message}" for f in found)


def fired(found: list[Finding]) -> set[str]:
    return {f.policy for f in found}


def one(registrations: list[Registration], predicate) -> Registration:
    (found,) = [r for r in registrations if predicate(r)]
    return found


def is_control_plane(r: Registration) -> bool:
    return r.type == shapes.CONTAINER and {"label": "kindling.role", "value": "control-plane"} in r.inputs["labels"]


def runs(script: str):
    return lambda r: r.type == shapes.COMMAND and script in r.inputs.get("create", "")


def swap(registrations: list[Registration], old: Registration, new: Registration) -> list[Registration]:
    return [new if r is old else r for r in registrations]


# --- shipped stacks are clean -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_names())
def test_no_policy_fires_on_a_shipped_stack(stack):
    found = findings(deployed(stack).registrations)
    assert found == [], describe(found)


@pytest.mark.parametrize(
    ("overrides", "docker_host"),
    [
        ({"nodeSecurity": "capabilities"}, None),
        ({}, DockerHost(cgroup_version=2, architecture="x86_64", has_lib_modules=False)),
        ({"workers": "2"}, None),
        ({"cni": "flannel"}, None),
        ({"cni": "none"}, None),
        ({"charts": json.dumps(INGRESS)}, None),
        ({"nodeImage": "ctr_kubernetes-v1.19.1-base:v0.1"}, None),
        ({"apiServerPort": "16443", "podSubnet": "10.240.0.0/16"}, None),
        ({"preloadImages": json.dumps(["registry.k8s.io/pause:3.2"]), "workers": "1"}, None),
        ({"images": json.dumps(["app:dev", "localhost:5000/tool:1"]), "workers": "1"}, None),
    ],
    ids=[
        "capabilities",
        "host-without-lib-modules",
        "workers",
        "flannel",
        "no-cni",
        "charts",
        "prebuilt",
        "port",
        "preloaded-images",
        "loaded-images",
    ],
)
def test_no_policy_fires_on_supported_variants(overrides, docker_host):
    kwargs = {"docker_host": docker_host} if docker_host else {}
    deployment = run_program(REFERENCE, {**stack_config(REFERENCE), **overrides}, **kwargs)
    found = findings(deployment.registrations)
    assert found == [], describe(found)


@pytest.mark.parametrize("stack", stack_names())
@pytest.mark.parametrize("workers", ["0", "1"])
def test_no_policy_fires_on_several_control_planes(stack, workers):
    found = findings(deployed(stack, controlPlanes="3", workers=workers).registrations)
    assert found == [], describe(found)


def test_no_policy_fires_on_five_control_planes_with_a_given_port():
    found = findings(deployed(REFERENCE, controlPlanes="5", workers="2", apiServerPort="16443").registrations)
    assert found == [], describe(found)


def as_first_preview(registrations: list[Registration]) -> list[Registration]:
    """What a preview of a new stack cannot know yet: ids and outputs of resources not yet created."""
    previewed = []
    for r in registrations:
        inputs = copy.deepcopy(r.inputs)
        if r.type == shapes.CONTAINER:
            inputs["image"] = UNKNOWN
        if r.type == shapes.COMMAND and "triggers" in inputs:
            inputs["triggers"] = [UNKNOWN for _ in inputs["triggers"]]
        if r.type == "pulumi:providers:kubernetes":
            inputs["kubeconfig"] = UNKNOWN
        previewed.append(replaced(r, inputs=inputs))
    return previewed


@pytest.mark.parametrize("stack", ["k8s-1-18-2", "k8s-1-31-0"])
def test_a_first_preview_runs_every_policy_without_unknown_value_errors(stack):
    found = findings(as_first_preview(deployed(stack, workers="1").registrations))
    assert found == [], describe(found)


@pytest.mark.parametrize("stack", ["k8s-1-18-2", "k8s-1-35-0"])
def test_a_first_preview_of_several_control_planes_runs_every_policy(stack):
    found = findings(as_first_preview(deployed(stack, controlPlanes="3", workers="1").registrations))
    assert found == [], describe(found)


# --- broken specs trip the policy written for them ------------------------------------------------------


def test_api_server_on_every_interface():
    # Expressible in config: the program accepts any IPv4 address, so only the policy stands in the way.
    deployment = deployed(REFERENCE, apiServerAddress="0.0.0.0")
    found = mandatory(findings(deployment.registrations))
    assert fired(found) == {"api-server-loopback-only"}, describe(found)
    assert "on 0.0.0.0" in found[0].message


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.10"])
def test_api_server_address_in_the_allow_list(address):
    deployment = deployed(REFERENCE, apiServerAddress=address)
    config = {"api-server-loopback-only": {"allowedAddresses": [address]}}
    assert findings(deployment.registrations, config) == []


def is_load_balancer(r: Registration) -> bool:
    return r.type == shapes.CONTAINER and {"label": "kindling.role", "value": "load-balancer"} in r.inputs["labels"]


def test_load_balancer_on_every_interface():
    # With several control planes the load balancer publishes the API server, under the same policy and allow-list.
    deployment = deployed(REFERENCE, controlPlanes="3", apiServerAddress="0.0.0.0")
    found = mandatory(findings(deployment.registrations))
    assert fired(found) == {"api-server-loopback-only"}, describe(found)
    assert "of 'load-balancer' on 0.0.0.0" in found[0].message
    config = {"api-server-loopback-only": {"allowedAddresses": ["0.0.0.0"]}}
    assert findings(deployment.registrations, config) == []


def test_a_load_balancer_publishing_another_port_is_refused():
    # components/load_balancer.py publishes the API server port alone; a stats page is what a change might add.
    registrations = deployed(REFERENCE, controlPlanes="3").registrations
    balancer = one(registrations, is_load_balancer)
    inputs = copy.deepcopy(balancer.inputs)
    inputs["ports"].append({"internal": 8404, "ip": "127.0.0.1", "external": 8404, "protocol": "tcp"})
    found = mandatory(findings(swap(registrations, balancer, replaced(balancer, inputs=inputs))))
    assert fired(found) == {"load-balancer-publishes-only-the-api-server"}, describe(found)
    assert "port 8404 of load balancer 'load-balancer'" in found[0].message


def test_a_certificate_key_in_a_control_plane_join_is_refused():
    # The program passes a placeholder the join script fills in; a key written into the configuration (or onto
    # kubeadm's command line) is what a change might do instead.
    registrations = deployed(REFERENCE, controlPlanes="3").registrations
    join = one(
        registrations, lambda r: runs(contract.CONTROL_PLANE_JOIN_SCRIPT)(r) and r.name == "control-plane-2-join"
    )
    key = "5e" * 32
    for inputs in (
        {**join.inputs, "stdin": join.inputs["stdin"].replace("'@KINDLING_CERTIFICATE_KEY@'", key)},
        {**join.inputs, "create": join.inputs["create"] + f" --certificate-key {key}"},
    ):
        found = mandatory(findings(swap(registrations, join, replaced(join, inputs=inputs))))
        assert fired(found) == {"kubeadm-config-without-credentials"}, describe(found)
        assert "certificate" in found[0].message.lower() and key not in found[0].message


def test_writable_lib_modules():
    # The program always binds /lib/modules read-only; no setting makes it writable, so the
    # recorded container is edited as a changed program would register it.
    registrations = deployed(REFERENCE).registrations
    node = one(registrations, is_control_plane)
    inputs = copy.deepcopy(node.inputs)
    inputs["mounts"][0]["readOnly"] = False
    found = mandatory(findings(swap(registrations, node, replaced(node, inputs=inputs))))
    assert fired(found) == {"node-lib-modules-read-only"}, describe(found)
    assert "writable" in found[0].message


def test_lib_modules_missing_while_the_label_says_mounted():
    # Only a host without /lib/modules leaves the mount out, and then the label says so; a node
    # that lacks the mount under the "mounted" label needs a changed program, hence the edit.
    registrations = deployed(REFERENCE).registrations
    node = one(registrations, is_control_plane)
    inputs = {**copy.deepcopy(node.inputs), "mounts": []}
    found = mandatory(findings(swap(registrations, node, replaced(node, inputs=inputs))))
    assert fired(found) == {"node-lib-modules-read-only"}, describe(found)


@pytest.mark.parametrize("stack", ["k8s-1-19-1", "k8s-1-35-0"])
@pytest.mark.parametrize("remove", ["conntrack", "document"])
def test_conntrack_left_at_the_default(stack, remove):
    # kindling always renders conntrack.maxPerCore: 0 (kindling/kubeadm_config.py) and no setting
    # changes that, so the init Command's stdin is edited as a changed renderer would produce it.
    registrations = deployed(stack).registrations
    init = one(registrations, runs(contract.INIT_SCRIPT))
    documents = list(yaml.safe_load_all(init.inputs["stdin"]))
    proxy = next(d for d in documents if d["kind"] == "KubeProxyConfiguration")
    if remove == "conntrack":
        del proxy["conntrack"]
    else:
        documents.remove(proxy)
    inputs = {**init.inputs, "stdin": yaml.safe_dump_all(documents, sort_keys=False)}
    found = mandatory(findings(swap(registrations, init, replaced(init, inputs=inputs))))
    assert fired(found) == {"kube-proxy-conntrack-unmanaged"}, describe(found)


def test_kubeconfig_not_secret():
    # additional_secret_outputs is fixed in components/control_plane.py, not configurable.
    registrations = deployed(REFERENCE).registrations
    command = one(registrations, runs(contract.KUBECONFIG_SCRIPT))
    found = mandatory(findings(swap(registrations, command, replaced(command, additional_secret_outputs=[]))))
    assert fired(found) == {"admin-kubeconfig-secret"}, describe(found)


def test_kubeconfig_logged():
    # logging is fixed in components/control_plane.py; dropping it gives the default, stdout and stderr.
    registrations = deployed(REFERENCE).registrations
    command = one(registrations, runs(contract.KUBECONFIG_SCRIPT))
    inputs = {k: v for k, v in command.inputs.items() if k != "logging"}
    found = mandatory(findings(swap(registrations, command, replaced(command, inputs=inputs))))
    assert fired(found) == {"admin-kubeconfig-not-logged"}, describe(found)


@pytest.mark.parametrize("version", [None, "", "latest", "^4.0.0", "4.0"])
def test_unpinned_chart(version):
    # kindling:charts refuses a chart without one exact version before anything registers
    # (kindling/config.py), so a pinned chart is registered and its version edited afterwards.
    registrations = deployed(REFERENCE, charts=json.dumps(INGRESS)).registrations
    release = one(registrations, lambda r: r.type == shapes.HELM_RELEASE and r.inputs["name"] == "ingress")
    inputs = {k: v for k, v in release.inputs.items() if k != "version"}
    if version is not None:
        inputs["version"] = version
    found = mandatory(findings(swap(registrations, release, replaced(release, inputs=inputs))))
    assert fired(found) == {"helm-chart-pinned"}, describe(found)


def test_component_override_off_the_catalogs_line_is_advisory():
    deployment = deployed(REFERENCE, components=json.dumps({"containerd": "1.7.0"}))
    found = findings(deployment.registrations)
    assert [(f.policy, f.level.value) for f in found] == [("component-version-skew", "advisory")], describe(found)
    assert found[0].message.startswith("containerd 1.7.0 ('node-image')")


def test_a_privileged_helper_container_is_refused():
    # The program registers no container besides nodes and a load balancer; a helper is what a careless change
    # would add.
    registrations = deployed(REFERENCE).registrations
    node = one(registrations, is_control_plane)
    helper_inputs = {"name": "helper", "image": "busybox:1.36", "privileged": True, "restart": "no"}
    helper = replaced(node, name="helper", urn=node.urn.replace("control-plane", "helper"), inputs=helper_inputs)
    found = mandatory(findings([*registrations, helper]))
    assert fired(found) == {"privileges-only-on-nodes"}, describe(found)
