"""A stack with one control plane registers exactly what it did before control planes could be more.

tests/fixtures/single-control-plane.json was recorded by ``record()`` below at commit 1e413d1,
before kindling:controlPlanes existed, and again for the build-cache Commands (recorded at 1dade51;
since then only their script has changed): for every catalog stack (and a few variants with workers),
each resource's URN, its inputs and the options the engine acts on. A change in any of them
would show in a preview of a running cluster as an update or, worse, a replacement. Long strings
(the scripts in Commands' environments) are kept as their sha256, which compares them byte for
byte while keeping the file readable.

To record again, deliberately: ``.venv/bin/python -c 'from tests.test_single_control_plane_unchanged
import record; record()'``, and say in the commit why every running cluster may change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.pulumi_harness import Registration, run_program
from tests.support import FIXTURES, ROOT, stack_config, stack_names

FIXTURE = FIXTURES / "single-control-plane.json"
LONG = 160

# Variants besides each catalog stack's own file: workers joined, and the other node security mode.
VARIANTS = {
    "k8s-1-19-1+workers-2": ("k8s-1-19-1", {"workers": "2"}),
    "k8s-1-34-0+workers-1+capabilities+port": (
        "k8s-1-34-0",
        {"workers": "1", "nodeSecurity": "capabilities", "apiServerPort": "16443"},
    ),
}


def cases() -> dict[str, tuple[str, dict[str, str]]]:
    return {**{stack: (stack, {}) for stack in stack_names()}, **VARIANTS}


def _portable(value: Any) -> Any:
    """The value without this checkout's path, long strings as their digest."""
    if isinstance(value, dict):
        return {key: _portable(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [_portable(item) for item in value]
    if isinstance(value, str):
        value = value.replace(str(ROOT), "<root>")
        if len(value) > LONG:
            return f"sha256:{hashlib.sha256(value.encode()).hexdigest()} ({len(value)} chars)"
    return value


def _recorded(registration: Registration) -> dict[str, Any]:
    return _portable(
        {
            "type": registration.type,
            "inputs": registration.inputs,
            "parent": registration.parent,
            "dependencies": sorted(registration.dependencies),
            "provider": registration.provider,
            "additionalSecretOutputs": registration.additional_secret_outputs,
            "deleteBeforeReplace": registration.delete_before_replace,
            "deletedWith": registration.deleted_with,
            "retainOnDelete": registration.retain_on_delete,
            "aliases": registration.alias_urns,
        }
    )


def registered(stack: str, overrides: dict[str, str]) -> dict[str, Any]:
    registrations = run_program(stack, {**stack_config(stack), **overrides}).registrations
    return {r.urn: _recorded(r) for r in registrations}


def record() -> None:
    fixture = {case: registered(stack, overrides) for case, (stack, overrides) in cases().items()}
    FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def before() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def test_the_fixture_covers_every_catalog_stack(before):
    assert set(before) == set(cases())


@pytest.mark.parametrize("case", sorted(cases()))
def test_a_single_control_plane_stack_registers_what_it_did(before, case):
    stack, overrides = cases()[case]
    now = registered(stack, overrides)
    assert sorted(now) == sorted(before[case]), "the same URNs, no more and no fewer"
    for urn, resource in now.items():
        assert resource == before[case][urn], urn.rsplit("::", 1)[1]
