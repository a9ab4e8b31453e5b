"""Shared test helpers: stack files read the way the Pulumi engine hands them to the program."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def stack_names() -> list[str]:
    """The catalog's stacks, one per release. Users' own stack files in stacks/ are theirs, not the tests'."""
    from kindling import catalog

    return sorted("k8s-" + release.replace(".", "-") for release in catalog.known_releases())


@cache
def _committed(relative: str) -> str | None:
    shown = subprocess.run(["git", "show", f"HEAD:{relative}"], cwd=ROOT, capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def stack_text(stack: str) -> str:
    """A catalog stack file as the project ships it: a user's local change (make bundle-apply, an
    encryption salt written by pulumi stack init) is theirs and does not change what is tested."""
    return _committed(f"stacks/Pulumi.{stack}.yaml") or (STACKS_DIR / f"Pulumi.{stack}.yaml").read_text()


def engine_value(value: Any) -> str:
    """The engine passes every config value as a string; structured ones as JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stack_config_file(path: Path) -> dict[str, str]:
    """``kindling:*`` values of a stack file, namespace stripped, as the engine passes them."""
    return stack_config_text(path.read_text())


def stack_config_text(text: str) -> dict[str, str]:
    document = yaml.safe_load(text) or {}
    values = document.get("config") or {}
    return {key.split(":", 1)[1]: engine_value(value) for key, value in values.items() if key.startswith("kindling:")}


def stack_config(stack: str) -> dict[str, str]:
    return stack_config_text(stack_text(stack))


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


def commands_first_on_path(monkeypatch, bin_dir: Path, scripts: dict[str, str]) -> None:
    """Stand-in commands (``{"docker": script text}``) found before the real ones for the rest of a test."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def release_bundle(tmp_path: Path, base_image: str = "kindling/base:bookworm") -> Path:
    """A 1.19.1 bundle directory holding only the stack fragment make e2e reads from it."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    config = {
        "kindling:kubernetesVersion": "1.19.1",
        "kindling:components": {"baseImage": base_image},
        "kindling:preloadImages": [],
    }
    (bundle / "stack-config.yaml").write_text(yaml.safe_dump({"config": config}))
    return bundle
