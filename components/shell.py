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
# A script of shell functions that a host-side script calls, read ahead of it (on_host's library).
LIBRARY_VARIABLE = "KINDLING_SCRIPT_LIBRARY"


@cache
def script(name: str) -> str:
    return (SCRIPTS / name).read_text()


@dataclass(frozen=True)
class ScriptCommand:
    create: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]


def _invocation(script_name: str, args: tuple[str, ...], text: str = f"${SCRIPT_VARIABLE}") -> str:
    # $0 is the script's name, so its messages and the policies can tell which one runs.
    return f'/bin/sh -c "{text}" ' + " ".join(shlex.quote(a) for a in (script_name, *args))


def in_node(node: str, script_name: str, *args: str) -> ScriptCommand:
    """Run a node-side script in ``node``; the Command's stdin is passed through."""
    return ScriptCommand(
        # The host's shell expands the script's text into docker exec's arguments.
        create=f"docker exec -i {shlex.quote(node)} {_invocation(script_name, args)}",
        environment={SCRIPT_VARIABLE: script(script_name)},
    )


def on_host(
    script_name: str,
    *args: str,
    environment: dict[str, pulumi.Input[str]] | None = None,
    library: str | None = None,
) -> ScriptCommand:
    """Run a host-side script (it drives ``docker`` itself); with ``library``, the text of that script
    (shell functions it calls) is read first, in the same shell."""
    if library is None:
        return ScriptCommand(
            create=_invocation(script_name, args),
            environment={SCRIPT_VARIABLE: script(script_name), **(environment or {})},
        )
    return ScriptCommand(
        create=_invocation(script_name, args, f"${LIBRARY_VARIABLE}${SCRIPT_VARIABLE}"),
        environment={SCRIPT_VARIABLE: script(script_name), LIBRARY_VARIABLE: script(library), **(environment or {})},
    )


def run_script(resource_name: str, script_command: ScriptCommand, **arguments: Any) -> command.local.Command:
    """The local Command that runs ``script_command``; ``arguments`` are the Command's other arguments."""
    return command.local.Command(
        resource_name, create=script_command.create, environment=script_command.environment, **arguments
    )
