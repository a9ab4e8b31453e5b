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
# The node-side script a host-side script runs in nodes itself, with docker exec (kubeadm-join.sh's).
NODE_SCRIPT_VARIABLE = "KINDLING_NODE_SCRIPT"


def library_variable(variable: str) -> str:
    """The variable that carries the library of the script in ``variable``: a script of shell functions
    it calls, read ahead of it in the same shell (/bin/sh -c "$<variable>_LIBRARY$<variable>")."""
    return f"{variable}_LIBRARY"


LIBRARY_VARIABLE = library_variable(SCRIPT_VARIABLE)
NODE_LIBRARY_VARIABLE = library_variable(NODE_SCRIPT_VARIABLE)
# A script's library: one script of shell functions, or several, read in that order; None: it has none.
Library = str | tuple[str, ...] | None


@cache
def script(name: str) -> str:
    return (SCRIPTS / name).read_text()


def carried(variable: str, script_name: str, library: Library = None) -> tuple[str, dict[str, str]]:
    """``script_name`` in the environment variable ``variable``, with ``library`` (if any) in its library
    variable: the words that expand to the text for `sh -c` (the library's ahead of the script's), and
    the environment that carries them. The one place a script and its library are put together."""
    if library is None:
        return f"${variable}", {variable: script(script_name)}
    carrier = library_variable(variable)
    libraries = (library,) if isinstance(library, str) else library
    return f"${carrier}${variable}", {variable: script(script_name), carrier: "".join(map(script, libraries))}


def node_script(script_name: str, library: Library = None) -> dict[str, str]:
    """The environment that carries the node-side script a host-side script runs in nodes itself, and its
    library: the host-side script runs /bin/sh -c "$KINDLING_NODE_SCRIPT_LIBRARY$KINDLING_NODE_SCRIPT"
    (kubeadm-join.sh), or "$KINDLING_NODE_SCRIPT" for a script that has none."""
    return carried(NODE_SCRIPT_VARIABLE, script_name, library)[1]


@dataclass(frozen=True)
class ScriptCommand:
    create: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]]


def _invocation(script_name: str, args: tuple[str, ...], text: str) -> str:
    # $0 is the script's name, so its messages and the policies can tell which one runs.
    return f'/bin/sh -c "{text}" ' + " ".join(shlex.quote(a) for a in (script_name, *args))


def in_node(node: str, script_name: str, *args: str, library: Library = None) -> ScriptCommand:
    """Run a node-side script in ``node``; the Command's stdin is passed through. With ``library``, the
    text of that script (shell functions it calls) is read first, in the same shell, as on_host's."""
    text, environment = carried(SCRIPT_VARIABLE, script_name, library)
    return ScriptCommand(
        # The host's shell expands the script's text into docker exec's arguments.
        create=f"docker exec -i {shlex.quote(node)} {_invocation(script_name, args, text)}",
        environment=environment,
    )


def on_host(
    script_name: str,
    *args: str,
    environment: dict[str, pulumi.Input[str]] | None = None,
    library: Library = None,
) -> ScriptCommand:
    """Run a host-side script (it drives ``docker`` itself); with ``library``, the text of that script
    (shell functions it calls) is read first, in the same shell."""
    text, carrying = carried(SCRIPT_VARIABLE, script_name, library)
    return ScriptCommand(create=_invocation(script_name, args, text), environment={**carrying, **(environment or {})})


def run_script(resource_name: str, script_command: ScriptCommand, **arguments: Any) -> command.local.Command:
    """The local Command that runs ``script_command``; ``arguments`` are the Command's other arguments."""
    return command.local.Command(
        resource_name, create=script_command.create, environment=script_command.environment, **arguments
    )
