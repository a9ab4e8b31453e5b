"""The stack configuration that points a stack at a bundle, and the one command that applies it.

Applying merges the fragment's keys into ``stacks/Pulumi.<stack>.yaml`` and
leaves every other key (and the file's leading comments) as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bundle.plan import Plan
from kindling import catalog

# The kindling:downloads sources a bundle's mirror serves (the flannel chart included).
MIRRORED_SOURCES = ("kubernetes", "containerd", "runc", "cniPlugins", "crictl", "helm", "flannel")


def stack_fragment(plan: Plan, mirror: Path, image_references: list[str], base_image: str) -> dict[str, Any]:
    components: dict[str, str] = {"baseImage": base_image, **dict(plan.overrides)}
    if plan.crictl != catalog.RELEASES[plan.release].crictl:
        components["crictl"] = plan.crictl
    return {
        "config": {
            "kindling:kubernetesVersion": plan.release,
            "kindling:cni": "flannel",
            "kindling:components": components,
            "kindling:downloads": {source: f"file://{mirror / source}" for source in MIRRORED_SOURCES},
            "kindling:preloadImages": sorted(image_references),
        }
    }


def apply_fragment(stack_file: Path, fragment: dict[str, Any]) -> None:
    """Merge ``fragment`` into ``stack_file`` (created if missing); a release mismatch is refused."""
    text = stack_file.read_text() if stack_file.exists() else ""
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    document = yaml.safe_load(text) or {}
    config = document.setdefault("config", {}) or {}
    wanted = fragment["config"]["kindling:kubernetesVersion"]
    current = str(config.get("kindling:kubernetesVersion", wanted))
    if current.removeprefix("v") != wanted:
        raise ValueError(f"{stack_file.name} sets kindling:kubernetesVersion {current}; the bundle is for {wanted}")
    config.update(fragment["config"])
    document["config"] = config
    stack_file.write_text(header + yaml.safe_dump(document, sort_keys=False))
