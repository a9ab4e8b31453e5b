"""Nodes as systemd-nspawn machines (kindling:nodeRuntime nspawn): the same rules as for node containers,
read from the Commands that start a machine and publish its API server (components/node_machine.py).

The machine's Command carries its systemd-nspawn options one a line (``--bind=SRC[:DST[:OPTIONS]]`` is
writable, ``--bind-ro=`` read-only); the publishing Command carries the host address and port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation

from kindling import contract
from policies import shapes
from policies.shapes import UNKNOWN, Resource


@dataclass(frozen=True)
class MachineBind:
    option: str
    source: str
    target: str
    read_only: bool


def is_machine(resource: Resource) -> bool:
    return shapes.is_step(resource, contract.NODE_MACHINE_TYPE, contract.MACHINE_STEP)


def is_api_server_publishing(resource: Resource) -> bool:
    return shapes.is_step(resource, contract.NODE_MACHINE_TYPE, contract.PUBLISH_API_SERVER_STEP)


def _environment(resource: Resource) -> dict[str, Any] | Any:
    environment = resource.get("environment")
    return environment if environment is UNKNOWN or isinstance(environment, dict) else {}


def machine_binds(options: str) -> list[MachineBind]:
    """The binds among systemd-nspawn options, one a line."""
    binds = []
    for option in options.splitlines():
        name, _, value = option.strip().partition("=")
        if name not in ("--bind", "--bind-ro") or not value:
            continue
        # A leading "-" only tolerates a missing source; "+" would be a path inside the machine.
        source, _, rest = value.partition(":")
        target = rest.partition(":")[0] or source
        if source.startswith("+"):
            continue
        binds.append(MachineBind(option.strip(), source.lstrip("-"), target, name == "--bind-ro"))
    return binds


def check_lib_modules(resource: Resource, report: ReportViolation) -> None:
    environment = _environment(resource)
    options = environment.get(contract.NSPAWN_OPTIONS_VARIABLE) if environment is not UNKNOWN else UNKNOWN
    if not isinstance(options, str):
        return
    binds = machine_binds(options)
    for bind in binds:
        if shapes.exposes_host_modules(bind.source) and not bind.read_only:
            report(
                f"{bind.option} binds the host's {bind.source} writable into machine {resource.name!r}: anything "
                "running there (any pod, on a node) can replace the host's kernel modules. Use --bind-ro."
            )
    state = environment.get(contract.MACHINE_LIB_MODULES_VARIABLE)
    if state == contract.LIB_MODULES_ABSENT or state is UNKNOWN:
        return
    mounted = any(
        shapes.normalized_path(b.source) in shapes.MODULE_DIRECTORIES
        and shapes.normalized_path(b.target) == "/lib/modules"
        for b in binds
    )
    if not mounted:
        report(
            f"machine {resource.name!r} does not bind the host's /lib/modules at /lib/modules "
            f"({contract.MACHINE_LIB_MODULES_VARIABLE}={state!r}); kube-proxy and the CNI cannot load kernel modules. "
            f"Give it --bind-ro=/lib/modules, or set {contract.MACHINE_LIB_MODULES_VARIABLE}="
            f"{contract.LIB_MODULES_ABSENT} when the host has no /lib/modules."
        )


def check_api_server_published(resource: Resource, allowed: Callable[[], list[str]], report: ReportViolation) -> None:
    environment = _environment(resource)
    if environment is UNKNOWN:
        return
    address = environment.get(contract.PUBLISH_ADDRESS_VARIABLE)
    if address is UNKNOWN:
        return
    if not isinstance(address, str) or not address:
        report(
            f"Command {resource.name!r} publishes the API server of a machine without "
            f"{contract.PUBLISH_ADDRESS_VARIABLE}. Give it 127.0.0.1 (kindling:apiServerAddress)."
        )
        return
    permitted = allowed()
    if not shapes.is_loopback(address) and not any(shapes.same_address(address, a) for a in permitted):
        report(
            f"Command {resource.name!r} publishes the API server of a machine on {address}, which is not loopback "
            f"and not in this policy's allowedAddresses ({', '.join(permitted) or 'empty'}). Publish it on "
            f"127.0.0.1, or add {address} to allowedAddresses in the policy pack config if it is meant to be "
            "reachable."
        )
