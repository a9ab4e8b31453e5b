"""Small, textual edits of go.mod files: what a module needs to build outside its repository."""

from __future__ import annotations

import re


def _replace_line(module: str) -> re.Pattern[str]:
    # A replace of ``module`` (any version of it), alone or inside a replace ( ... ) block.
    return re.compile(rf"^(\s*replace\s+|\s+){re.escape(module)}(\s+v\S+)?\s+=>.*$\n?", re.MULTILINE)


def add_replaces(go_mod: str, replaces: tuple[str, ...]) -> str:
    """``go_mod`` with each ``old => new version`` replace added, dropping any earlier replace of ``old``."""
    for replace in replaces:
        old = replace.split("=>")[0].split()[0]
        go_mod = _replace_line(old).sub("", go_mod)
        go_mod = go_mod.rstrip("\n") + f"\nreplace {replace}\n"
    return go_mod


def drop_local_replaces(go_mod: str) -> str:
    """Remove replaces that point into the module's own repository (``=> ../api``): a module zip
    has no siblings, so the required versions must come from the proxy instead."""
    return re.sub(r"^(\s*replace\s+|\s+)\S+(\s+v\S+)?\s+=>\s+\.\.?/\S*\s*$\n?", "", go_mod, flags=re.MULTILINE)


def required_version(go_mod: str, module: str) -> str | None:
    """The version ``go_mod`` requires (or replaces) ``module`` at; None when absent."""
    replaced = re.search(rf"^\s*(?:replace\s+)?{re.escape(module)}(?:\s+v\S+)?\s+=>\s+\S+\s+(v\S+)", go_mod, re.M)
    if replaced:
        return replaced.group(1)
    required = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod, re.MULTILINE)
    return required.group(1) if required else None


def module_file(module: str, go: str, requires: tuple[str, ...], replaces: tuple[str, ...]) -> str:
    """A go.mod for a module whose release predates modules (its dependencies were pinned elsewhere)."""
    lines = [f"module {module}", "", f"go {'.'.join(go.split('.')[:2])}", "", "require ("]
    lines += [f"\t{line}" for line in requires]
    lines.append(")")
    if replaces:
        lines += ["", "replace (", *(f"\t{line}" for line in replaces), ")"]
    return "\n".join(lines) + "\n"
