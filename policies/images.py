"""Your own images loaded into running nodes (kindling:images): each by a tag a pod takes from the node,
and pinned to one local image, so that a rebuild under the same tag is loaded again."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation

from kindling import contract
from policies import shapes
from policies.registry import MANDATORY, Severity, resource_policy
from policies.shapes import UNKNOWN, Resource

_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")


def loadable_reference_problem(reference: str) -> str | None:
    """Why a pod would not take ``reference`` from the node's containerd, or None when it would."""
    if "@" in reference:
        return f"{reference!r} names a digest, which docker save does not keep: no pod finds the image by it"
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last or last.rsplit(":", 1)[1] in ("", "latest"):
        return (
            f"{reference!r} has {'no tag' if ':' not in last else 'the latest tag'}: a pod pulls such an image from "
            "its registry by default, never taking the node's copy"
        )
    return None


def _check_loaded_image(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.COMMAND or shapes.component_type(resource.urn) != contract.LOADED_IMAGES_TYPE:
        return
    environment = resource.get("environment")
    if environment is UNKNOWN:
        return
    environment = environment if isinstance(environment, dict) else {}
    reference = environment.get(contract.LOADED_IMAGE_VARIABLE)
    image_id = environment.get(contract.LOADED_IMAGE_ID_VARIABLE)
    if isinstance(reference, str):
        problem = loadable_reference_problem(reference)
        if problem:
            report(f"Command {resource.name!r} loads {problem}. List name:tag references in kindling:images.")
    elif reference is not UNKNOWN:
        report(f"Command {resource.name!r} loads no image: its environment lacks {contract.LOADED_IMAGE_VARIABLE}.")
    if image_id is UNKNOWN:
        return
    if not isinstance(image_id, str) or not _IMAGE_ID.fullmatch(image_id):
        report(
            f"Command {resource.name!r} loads an image without its local image id ({contract.LOADED_IMAGE_ID_VARIABLE} "
            f"is {image_id!r}, not sha256:<64 hex digits>): what it loads is whatever the tag names when it runs, and "
            "an image rebuilt under the same tag is never loaded again. Give it the id docker image inspect reports."
        )


LOADED_IMAGES_PINNED = resource_policy(
    "loaded-images-pinned",
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    breaks="Every image loaded into running nodes (kindling:images) is named by a tag other than latest and "
    "carries the id of one local image: a pod pulls an image tagged latest (or untagged, or by a digest docker "
    "save does not keep) from its registry and never runs the node's copy, and a load without the image's id "
    "leaves a rebuild under the same tag unloaded.",
    fix="list name:tag references in kindling:images; the program gives each load the image's id "
    "(components/loaded_images.py).",
    validate=_check_loaded_image,
)
