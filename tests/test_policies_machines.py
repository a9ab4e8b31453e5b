"""The policy pack on stacks whose nodes are systemd-nspawn machines: clean as kindling registers them,
and the /lib/modules and API server rules hold for machines as they do for node containers."""

from __future__ import annotations

import copy
from functools import cache

import pytest

from kindling import contract
from policies.kindling_policies import POLICIES
from tests.policy_args import evaluate, mandatory, replaced
from tests.pulumi_harness import Deployment, Registration, run_program
from tests.support import stack_config, stack_names

REFERENCE = "k8s-1-19-1"


@cache
def deployed(stack: str) -> Deployment:
    return run_program(stack, {**stack_config(stack), "nodeRuntime": "nspawn", "workers": "1"})


def with_environment(deployment: Deployment, name: str, **environment: str) -> list[Registration]:
    """The stack's registrations with Command ``name``'s environment changed."""
    found = deployment.named(name)
    inputs = copy.deepcopy(found.inputs)
    inputs["environment"].update(environment)
    changed = replaced(found, inputs=inputs)
    return [changed if r is found else r for r in deployment.registrations]


def fired(registrations: list[Registration], config=None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in mandatory(evaluate(POLICIES, registrations, config)):
        found.setdefault(finding.policy, []).append(finding.message)
    return found


def options_of(deployment: Deployment, name: str) -> list[str]:
    return deployment.named(name).inputs["environment"][contract.NSPAWN_OPTIONS_VARIABLE].splitlines()


@pytest.mark.parametrize("stack", stack_names())
def test_no_policy_fires_on_a_catalog_stack_of_machines(stack):
    found = evaluate(POLICIES, deployed(stack).registrations)
    assert found == [], "\n".join(f"{f.policy}: {f.message}" for f in found)


@pytest.mark.parametrize("bind", ["--bind=/lib/modules", "--bind=/usr/lib/modules/6.1.0:/lib/modules/6.1.0:rbind"])
def test_a_writable_bind_of_the_host_modules_into_a_machine_is_caught(bind):
    deployment = deployed(REFERENCE)
    options = [bind if o == "--bind-ro=/lib/modules" else o for o in options_of(deployment, "worker-1-machine")]
    registrations = with_environment(
        deployment, "worker-1-machine", **{contract.NSPAWN_OPTIONS_VARIABLE: "\n".join(options)}
    )
    found = fired(registrations)
    assert set(found) == {"node-lib-modules-read-only"}
    assert any(
        f"{bind} binds the host's" in message and "writable" in message
        for message in found["node-lib-modules-read-only"]
    )


def test_a_machine_without_the_host_modules_is_caught_unless_the_host_has_none():
    deployment = deployed(REFERENCE)
    options = "\n".join(o for o in options_of(deployment, "control-plane-machine") if "/lib/modules" not in o)
    unbound = with_environment(deployment, "control-plane-machine", **{contract.NSPAWN_OPTIONS_VARIABLE: options})
    assert set(fired(unbound)) == {"node-lib-modules-read-only"}
    absent = with_environment(
        deployment,
        "control-plane-machine",
        **{
            contract.NSPAWN_OPTIONS_VARIABLE: options,
            contract.MACHINE_LIB_MODULES_VARIABLE: contract.LIB_MODULES_ABSENT,
        },
    )
    assert fired(absent) == {}


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20"])
def test_an_api_server_published_beyond_the_host_is_caught_unless_allowed(address):
    deployment = deployed(REFERENCE)
    registrations = with_environment(
        deployment, "control-plane-api-server", **{contract.PUBLISH_ADDRESS_VARIABLE: address}
    )
    found = fired(registrations)
    assert set(found) == {"api-server-loopback-only"}
    assert f"on {address}, which is not loopback" in found["api-server-loopback-only"][0]
    assert fired(registrations, {"api-server-loopback-only": {"allowedAddresses": [address]}}) == {}


def test_the_stack_refuses_a_machine_stack_whose_api_server_is_on_every_interface_at_up():
    # What kindling:apiServerAddress 0.0.0.0 registers: the same policy stops it.
    deployment = run_program(
        REFERENCE, {**stack_config(REFERENCE), "nodeRuntime": "nspawn", "apiServerAddress": "0.0.0.0"}
    )
    assert set(fired(deployment.registrations)) == {"api-server-loopback-only"}
