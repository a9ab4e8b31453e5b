"""Host commands that run kindling's scripts, on the host or inside a node container.

A script's text travels in the Command's environment (an input, so `pulumi preview
--diff` shows it and policies can read it); the command line itself stays short,
so that when a step fails its error reads as the script's own message.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_command as command

SCRIPTS = Path(__file__).resolve().parent / "scripts"
SCRIPT_VARIABLE = "KINDLING_SCRIPT"


@cache
def script(name: str) -> str:
    return (SCRIPTS / name).read_text()


@dataclass(frozen=True)
class ScriptCommand:
    create: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]


def _invocation(script_name: str, args: tuple[str, ...]) -> str:
    # $0 is the script's name, so its messages and the policies can tell which one runs.
    return f'/bin/sh -c "${SCRIPT_VARIABLE}" ' + " ".join(shlex.quote(a) for a in (script_name, *args))


def in_node(node: str, script_name: str, *args: str) -> ScriptCommand:
    """Run a node-side script in ``node``; the Command's stdin is passed through."""
    return ScriptCommand(
        # The host's shell expands the script's text into docker exec's arguments.
        create=f"docker exec -i {shlex.quote(node)} {_invocation(script_name, args)}",
        environment={SCRIPT_VARIABLE: script(script_name)},
    )


def on_host(script_name: str, *args: str, environment: dict[str, pulumi.Input[str]] | None = None) -> ScriptCommand:
    """Run a host-side script (it drives ``docker`` itself)."""
    return ScriptCommand(
        create=_invocation(script_name, args),
        environment={SCRIPT_VARIABLE: script(script_name), **(environment or {})},
    )


def run_script(resource_name: str, script_command: ScriptCommand, **arguments: Any) -> command.local.Command:
    """The local Command that runs ``script_command``; ``arguments`` are the Command's other arguments."""
    return command.local.Command(
        resource_name, create=script_command.create, environment=script_command.environment, **arguments
    )
