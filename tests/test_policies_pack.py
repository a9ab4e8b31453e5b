"""The pack as a whole: every policy's level, severity, description and settings; every policy passes a
consistent cluster, ignores resources it does not govern and neither crashes nor reports on a value unknown
during a preview.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from policies.kindling_policies import POLICIES, SEVERITY, Severity
from tests.policy_args import UNKNOWN, resource_args, run, stack_args
from tests.policy_fixtures import (
    AT_INIT,
    AT_KUBECONFIG,
    AT_LOAD,
    CALICO,
    CAPABILITIES_NODE,
    COMMAND,
    CONTAINER,
    DOCKER_NETWORK,
    INIT,
    INIT_CONFIG,
    JOIN,
    K8S_PROVIDER,
    KUBECONFIG,
    LOAD,
    MATCHES,
    NETWORK,
    NETWORKS,
    NODE,
    NODE_IMAGE,
    PLAIN_CONTAINER,
    RELEASE,
    REMOTE_IMAGE,
    SKEW,
    TOKEN,
    WORKER,
    changed,
    check_stack,
    cluster,
    documents,
    kind,
    with_documents,
)

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY


def test_the_fixtures_are_what_the_program_renders():
    assert kind(documents(INIT_CONFIG), "KubeProxyConfiguration")["conntrack"] == {"maxPerCore": 0}
    assert kind(documents(INIT_CONFIG), "ClusterConfiguration")["apiVersion"] == "kubeadm.k8s.io/v1beta3"


# --- metadata -------------------------------------------------------------------------------------

# The README's table; a change of level or severity is a change of that table too.
EXPECTED = {
    "node-lib-modules-read-only": (MANDATORY, Severity.CRITICAL),
    "kube-proxy-conntrack-unmanaged": (MANDATORY, Severity.HIGH),
    "api-server-loopback-only": (MANDATORY, Severity.HIGH),
    "published-ports-loopback-only": (MANDATORY, Severity.HIGH),
    "load-balancer-publishes-only-the-api-server": (MANDATORY, Severity.MEDIUM),
    "admin-kubeconfig-secret": (MANDATORY, Severity.CRITICAL),
    "admin-kubeconfig-not-logged": (MANDATORY, Severity.HIGH),
    "privileges-only-on-nodes": (MANDATORY, Severity.CRITICAL),
    "kubeadm-api-matches-release": (MANDATORY, Severity.HIGH),
    "kubeadm-config-without-credentials": (MANDATORY, Severity.HIGH),
    "cluster-provider-explicit-kubeconfig": (MANDATORY, Severity.CRITICAL),
    "helm-chart-pinned": (MANDATORY, Severity.MEDIUM),
    "node-image-pinned": (MANDATORY, Severity.MEDIUM),
    "loaded-images-pinned": (MANDATORY, Severity.MEDIUM),
    "node-restarts-on-failure": (ADVISORY, Severity.LOW),
    "node-image-matches-kubeadm-config": (MANDATORY, Severity.HIGH),
    "component-version-skew": (ADVISORY, Severity.MEDIUM),
    "cluster-networks-consistent": (MANDATORY, Severity.HIGH),
}


def test_every_policy_sets_its_level_and_severity_explicitly():
    assert {p.name: (p.enforcement_level, SEVERITY[p.name]) for p in POLICIES} == EXPECTED


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_every_description_states_severity_what_breaks_and_how_to_fix_it(policy):
    severity, rest = policy.description.split(". ", 1)
    assert severity == f"Severity: {SEVERITY[policy.name].value}"
    breaks, fix = rest.split(" Fix: ")
    assert len(breaks) > 80 and fix


@pytest.mark.parametrize("policy", [p for p in POLICIES if p.config_schema], ids=lambda p: p.name)
def test_every_setting_has_a_default(policy):
    for key, schema in policy.config_schema.properties.items():
        assert "default" in schema, key
        assert schema.get("description"), key


# --- every stack policy passes a consistent cluster ---------------------------------------------------------


@pytest.mark.parametrize("name", [MATCHES, SKEW, NETWORKS])
def test_stack_policies_pass_a_consistent_cluster(name):
    assert check_stack(name, cluster()) == []


# --- every resource policy ignores resources it does not govern ------------------------------------------


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
@pytest.mark.parametrize(
    ("type_", "props"),
    [
        (NETWORK, DOCKER_NETWORK),
        (K8S_PROVIDER, {"kubeconfig": "apiVersion: v1"}),
        ("random:index/randomId:RandomId", {}),
    ],
)
def test_resource_policies_ignore_unrelated_resources(policy, type_, props):
    assert run(policy, resource_args(type_, props)) == []


# --- any value unknown during a preview: no crash, no violation ---------------------------------------------


def paths(value: Any, prefix: str = "") -> list[str]:
    """Every dotted path into ``value``: each key and list item, containers as well as leaves."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        found += [path, *paths(item, path)]
    return found


GOOD_RESOURCES = [
    (CONTAINER, NODE, {}),
    (CONTAINER, WORKER, {}),
    (CONTAINER, CAPABILITIES_NODE, {}),
    (CONTAINER, PLAIN_CONTAINER, {}),
    (COMMAND, INIT, AT_INIT),
    (COMMAND, JOIN, {}),
    (COMMAND, KUBECONFIG, {"additional_secret_outputs": ["stdout"], **AT_KUBECONFIG}),
    (RELEASE, CALICO, {}),
    (REMOTE_IMAGE, NODE_IMAGE, {}),
    (COMMAND, LOAD, AT_LOAD),
]


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_resource_policies_neither_crash_nor_report_on_any_unknown(policy):
    for type_, props, kwargs in GOOD_RESOURCES:
        for path in paths(props):
            reported = run(policy, resource_args(type_, changed(props, path, UNKNOWN), **kwargs))
            assert reported == [], (type_, path, reported)


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if not isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_stack_policies_neither_crash_nor_report_on_any_unknown(policy):
    for type_, name, props, *_ in cluster():
        for path in paths(props):
            resources = [(t, n, changed(p, path, UNKNOWN) if n == name else p, *rest) for t, n, p, *rest in cluster()]
            reported = run(policy, stack_args(resources))
            assert reported == [], (type_, path, reported)


BAD_RESOURCES = [
    (CONTAINER, changed(changed(NODE, "ports.0.ip", "0.0.0.0"), "mounts.0.readOnly", False)),
    (CONTAINER, {**PLAIN_CONTAINER, "privileged": True, "ports": [{"internal": 22}], "networkMode": "host"}),
    (COMMAND, with_documents(INIT, lambda d: kind(d, "KubeProxyConfiguration").pop("conntrack"))),
    (COMMAND, {**JOIN, "create": f"kubeadm join --token {TOKEN}"}),
    (COMMAND, {k: v for k, v in KUBECONFIG.items() if k != "logging"}),
    (RELEASE, {**CALICO, "version": "latest"}),
    (REMOTE_IMAGE, {**NODE_IMAGE, "name": "kindling/c"}),
    (COMMAND, changed(changed(LOAD, "environment.KINDLING_IMAGE", "app"), "environment.KINDLING_IMAGE_ID", "x")),
]


@pytest.mark.parametrize(
    "policy", [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_resource_policies_do_not_crash_on_unknowns_in_bad_resources(policy):
    for type_, props in BAD_RESOURCES:
        for path in paths(props):
            run(policy, resource_args(type_, changed(props, path, UNKNOWN)))
