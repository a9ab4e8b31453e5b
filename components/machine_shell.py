"""Commands whose scripts reach systemd-nspawn machines instead of node containers.

The scripts are the ones Docker nodes run, unchanged: they reach a node with ``docker exec``.
Here the Command's shell first reads machine-exec.sh, which defines ``docker exec`` as entering
the machine (``nsenter`` into its PID 1's namespaces), so no script knows which runtime it runs in.
"""

from __future__ import annotations

import shlex

import pulumi

from components.shell import SCRIPT_VARIABLE, Library, ScriptCommand, carried, script

MACHINE_EXEC_VARIABLE = "KINDLING_MACHINE_EXEC"
MACHINES_DIR_VARIABLE = "KINDLING_MACHINES_DIR"


def machine_environment(machines_dir: str) -> dict[str, pulumi.Input[str]]:
    """What machine-exec.sh needs: its own text, and where the cluster's machines keep their files."""
    return {MACHINE_EXEC_VARIABLE: script("machine-exec.sh"), MACHINES_DIR_VARIABLE: machines_dir}


def _quoted(*words: str) -> str:
    return " ".join(shlex.quote(word) for word in words)


def in_machine(machines_dir: str, node: str, script_name: str, *args: str, library: Library = None) -> ScriptCommand:
    """Run a node-side script in machine ``node``; the Command's stdin is passed through, as with docker exec -i.
    With ``library``, its text is read first in the same shell, as shell.py's in_node reads it."""
    text, environment = carried(SCRIPT_VARIABLE, script_name, library)
    return ScriptCommand(
        # $0 of the inner shell is the script's name, as for a node container.
        create=f'/bin/sh -c "${MACHINE_EXEC_VARIABLE}"\'docker exec -i "$@"\' machine-exec {shlex.quote(node)} '
        f'/bin/sh -c "{text}" {_quoted(script_name, *args)}',
        environment={**environment, **machine_environment(machines_dir)},
    )


def on_host_with_machines(
    machines_dir: str, script_name: str, *args: str, environment: dict[str, pulumi.Input[str]] | None = None
) -> ScriptCommand:
    """Run a host-side script whose ``docker exec`` reaches the cluster's machines."""
    text, carrying = carried(SCRIPT_VARIABLE, script_name)
    return ScriptCommand(
        create=f'/bin/sh -c "${MACHINE_EXEC_VARIABLE}{text}" {_quoted(script_name, *args)}',
        environment={**carrying, **machine_environment(machines_dir), **(environment or {})},
    )
