"""Host shell commands that run kindling's scripts inside node containers.

Each node-side script lives in components/scripts/ and is embedded whole in
the Command's ``create`` text, so `pulumi preview` shows exactly what will run
and policies can read it.
"""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


@cache
def script(name: str) -> str:
    return (SCRIPTS / name).read_text()


def in_node(node: str, script_name: str, *args: str, stdin: bool = False) -> str:
    """``docker exec`` of a script in ``node``; with ``stdin`` the Command's stdin is passed through."""
    flags = "-i " if stdin else ""
    quoted = " ".join(shlex.quote(a) for a in args)
    return (
        f"docker exec {flags}{shlex.quote(node)} /bin/sh -c {shlex.quote(script(script_name))} "
        f"{shlex.quote(script_name)} {quoted}"
    ).rstrip()


def on_host(script_name: str, *args: str) -> str:
    """A host-side script (it drives ``docker`` itself)."""
    quoted = " ".join(shlex.quote(a) for a in args)
    return f"/bin/sh -c {shlex.quote(script(script_name))} {shlex.quote(script_name)} {quoted}".rstrip()
