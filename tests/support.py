"""Shared test helpers: stack files read the way the Pulumi engine hands them to the program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def stack_names() -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in STACKS_DIR.glob("Pulumi.*.yaml"))


def engine_value(value: Any) -> str:
    """The engine passes every config value as a string; structured ones as JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stack_config_file(path: Path) -> dict[str, str]:
    """``kindling:*`` values of a stack file, namespace stripped, as the engine passes them."""
    document = yaml.safe_load(path.read_text()) or {}
    values = document.get("config") or {}
    return {key.split(":", 1)[1]: engine_value(value) for key, value in values.items() if key.startswith("kindling:")}


def stack_config(stack: str) -> dict[str, str]:
    return stack_config_file(STACKS_DIR / f"Pulumi.{stack}.yaml")


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaf values; lists of scalars stay whole, None means absent."""
    if isinstance(document, dict):
        out: dict[str, Any] = {}
        for key, value in document.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(document, list) and any(isinstance(item, (dict, list)) for item in document):
        out = {}
        for index, item in enumerate(document):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {} if document is None else {prefix: document}


def documents_by_kind(text: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(text) if doc}
