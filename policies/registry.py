"""How a kindling policy is declared: enforcement level, severity, what breaks and how to fix it.

pulumi-policy 1.17 (the release that works with the Pulumi engine kindling is pinned to) has no
severity field, so each policy states its severity at the head of its description, where the CLI
prints it with every violation; ``Declared`` keeps it beside the policy for the pack's table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.shapes import Resource

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Declared:
    policy: ResourceValidationPolicy | StackValidationPolicy
    severity: Severity


def _describe(severity: Severity, breaks: str, fix: str) -> str:
    return f"Severity: {severity.value}. {breaks} Fix: {fix}"


def resource_policy(
    name: str,
    *,
    enforcement_level: EnforcementLevel,
    severity: Severity,
    breaks: str,
    fix: str,
    validate: Callable[[Resource, ResourceValidationArgs, ReportViolation], None],
    config_schema: PolicyConfigSchema | None = None,
) -> Declared:
    def run(args: ResourceValidationArgs, report: ReportViolation) -> None:
        validate(Resource.of(args), args, report)

    policy = ResourceValidationPolicy(
        name=name,
        description=_describe(severity, breaks, fix),
        validate=run,
        enforcement_level=enforcement_level,
        config_schema=config_schema,
    )
    return Declared(policy, severity)


def stack_policy(
    name: str,
    *,
    enforcement_level: EnforcementLevel,
    severity: Severity,
    breaks: str,
    fix: str,
    validate: Callable[[list[Resource], StackValidationArgs, ReportViolation], None],
) -> Declared:
    def run(args: StackValidationArgs, report: ReportViolation) -> None:
        validate([Resource.of(r) for r in args.resources], args, report)

    policy = StackValidationPolicy(
        name=name,
        description=_describe(severity, breaks, fix),
        validate=run,
        enforcement_level=enforcement_level,
    )
    return Declared(policy, severity)


ALLOWED_ADDRESSES = "allowedAddresses"


def allowed_addresses_schema(what: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={
            ALLOWED_ADDRESSES: {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": f"Host addresses besides loopback that {what} may be published on, e.g. 192.168.1.10 "
                "or 0.0.0.0 (every interface). Loopback (127.0.0.0/8, ::1) is always allowed.",
            }
        }
    )


def allowed(args: Any) -> list[str]:
    config = args.get_config() or {}
    value = config.get(ALLOWED_ADDRESSES, [])
    return [str(a) for a in value] if isinstance(value, list) else []
