"""Policy arguments as the engine builds them, for running kindling's policies in-process.

The analyzer gets each resource's properties as a protobuf Struct (numbers are
doubles, unknowns are sentinel strings) and wraps them in pulumi-policy's
unknown-checking proxy; ``engine_props`` does the same to a plain dict or to
the inputs ``tests.pulumi_harness`` recorded. ``evaluate`` then runs policies
the way ``_PolicyAnalyzerServicer`` does: resource policies per resource,
stack policies once, an ``UnknownValueError`` noted rather than raised, schema
defaults filled into config.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from tests.pulumi_harness import Registration

STACK = "test"
UNKNOWN = UNKNOWN_STRING_VALUE  # how the engine sends a value a preview cannot know


def _engine_value(value: Any) -> Any:
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {key: _engine_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_engine_value(item) for item in value]
    return value


def engine_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """``props`` as an analyzer sees them: through a Struct, deserialized and proxied."""
    struct = struct_pb2.Struct()
    struct.update(_engine_value(props))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def urn_of(type_: str, name: str, parent: str | None = None) -> str:
    """A resource's URN, as a child of a component of type ``parent`` when one is given."""
    chain = f"{parent}${type_}" if parent else type_
    return f"urn:pulumi:{STACK}::kindling::{chain}::{name}"


def options(additional_secret_outputs: Iterable[str] = (), parent: str | None = None, delete_before_replace=None):
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(additional_secret_outputs),
        parent=parent,
    )


def default_provider(type_: str) -> PolicyProviderResource:
    package = type_.split(":", 1)[0]
    return PolicyProviderResource(
        f"pulumi:providers:{package}", engine_props({}), urn_of(f"pulumi:providers:{package}", "default"), "default"
    )


def resource_args(
    type_: str,
    props: Mapping[str, Any],
    *,
    name: str = "subject",
    parent: str | None = None,
    config: Mapping[str, Any] | None = None,
    additional_secret_outputs: Iterable[str] = (),
) -> ResourceValidationArgs:
    """Hand-built arguments of one resource validation (unit tests)."""
    return ResourceValidationArgs(
        type_,
        engine_props(props),
        urn_of(type_, name, parent),
        name,
        options(additional_secret_outputs),
        default_provider(type_),
        dict(config) if config is not None else None,
    )


def stack_args(resources: Iterable[tuple], config=None) -> StackValidationArgs:
    """Hand-built arguments of a stack validation from (type, name, props[, parent type]) tuples (unit tests)."""
    built = [
        PolicyResource(type_, engine_props(props), urn_of(type_, name, *parent), name, options(), None, None, [], {})
        for type_, name, props, *parent in resources
    ]
    return StackValidationArgs(built, dict(config) if config is not None else None)


# --- from a recorded program run -------------------------------------------------------------------


def _provider(registration: Registration, by_urn: dict[str, Registration]) -> PolicyProviderResource:
    urn = registration.provider.rsplit("::", 1)[0] if registration.provider else ""  # a reference is urn::id
    provider = by_urn.get(urn)
    if provider is None:  # a default provider: the engine creates those, the program never registers them
        return default_provider(registration.type)
    return PolicyProviderResource(provider.type, engine_props(provider.inputs), provider.urn, provider.name)


def registration_args(
    registration: Registration, registrations: list[Registration], config=None
) -> ResourceValidationArgs:
    by_urn = {r.urn: r for r in registrations}
    return ResourceValidationArgs(
        registration.type,
        engine_props(registration.inputs),
        registration.urn,
        registration.name,
        options(
            registration.additional_secret_outputs, registration.parent or None, registration.delete_before_replace
        ),
        _provider(registration, by_urn),
        dict(config) if config is not None else None,
    )


def registrations_stack_args(registrations: list[Registration], config=None) -> StackValidationArgs:
    """The stack as AnalyzeStack sees it at the end of a preview: planned state (here the inputs), linked up."""
    built = {
        r.urn: PolicyResource(
            r.type,
            engine_props(r.inputs),
            r.urn,
            r.name,
            options(r.additional_secret_outputs, r.parent or None, r.delete_before_replace),
            None,
            None,
            [],
            {},
        )
        for r in registrations
        if r.custom
    }
    for r in registrations:
        if r.urn in built:
            built[r.urn].parent = built.get(r.parent)
            built[r.urn].dependencies = [built[d] for d in r.dependencies if d in built]
    return StackValidationArgs(list(built.values()), dict(config) if config is not None else None)


# --- running policies ----------------------------------------------------------------------------------


def run(policy: Policy, args: Any) -> list[str]:
    """Messages a policy reports for one argument bag (exceptions propagate)."""
    return [message for message, _ in run_with_urns(policy, args)]


def run_with_urns(policy: Policy, args: Any) -> list[tuple[str, str | None]]:
    reported: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append((message, urn))

    result = policy.validate(args, report)
    if isawaitable(result):
        asyncio.run(result)  # type: ignore[arg-type]
    return reported


def policy_config(policy: Policy, config: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """The config the CLI hands a policy: its schema's defaults, overlaid with the pack config file's entry."""
    values: dict[str, Any] = {}
    if policy.config_schema is not None:
        for key, schema in policy.config_schema.properties.items():
            if "default" in schema:
                values[key] = copy.deepcopy(schema["default"])
    values.update((config or {}).get(policy.name, {}))
    return values


@dataclass(frozen=True)
class Finding:
    policy: str
    level: EnforcementLevel
    message: str
    urn: str | None


def evaluate(
    policies: list[Policy], registrations: list[Registration], config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Finding]:
    """Every violation the pack reports for a recorded program run.

    A policy that reads an unknown value is noted as an advisory finding, as the
    engine does ("can't run policy ... during preview").
    """
    findings: list[Finding] = []
    custom = [r for r in registrations if r.custom]
    for policy in policies:
        level = policy.enforcement_level or EnforcementLevel.ADVISORY
        values = policy_config(policy, config)
        if isinstance(policy, StackValidationPolicy):
            bags = [(registrations_stack_args(registrations, values), None)]
        elif isinstance(policy, ResourceValidationPolicy):
            bags = [(registration_args(r, registrations, values), r.urn) for r in custom]
        else:
            raise TypeError(f"unexpected policy type {type(policy).__name__}")
        for args, urn in bags:
            try:
                reported = run_with_urns(policy, args)
            except UnknownValueError as exc:
                findings.append(Finding(policy.name, EnforcementLevel.ADVISORY, f"can't run: {exc.message}", urn))
                continue
            findings.extend(Finding(policy.name, level, message, urn or where) for message, where in reported)
    return findings


def mandatory(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == EnforcementLevel.MANDATORY]


def replaced(registration: Registration, **changes: Any) -> Registration:
    """A deep copy of a registration with some fields changed (inputs are copied before any change)."""
    clone = copy.deepcopy(registration)
    for key, value in changes.items():
        setattr(clone, key, value)
    return clone
