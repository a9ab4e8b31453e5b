"""Your own local images in a running cluster (``kindling:images``): which references can be loaded,
and the name the nodes give each.

Each is loaded by ``docker save`` into the nodes' containerd. kindling/host.py asks the Docker
engine for the id each has, before anything is registered, at every preview and up: an image
rebuilt under the same tag has a new id, and that is what makes the next ``up`` load it again.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

IMAGES_KEY = "kindling:images"

# Docker's reference grammar (distribution/reference), tagged: [registry[:port]/]path:tag, the path in
# lowercase. Checked here so that a name Docker would refuse is said to be one, not "not on the engine".
_DOMAIN_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_TAGGED = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*:[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")


def loadable_reference(value: str) -> str:
    """A reference that can be loaded into running nodes: ``name:tag``, the tag not latest, no digest."""
    if "@" in value:
        raise ValueError(
            f"{value!r} names a digest; give the image's tag (name:tag): docker save keeps no registry digest, "
            "so no pod could find the image by digest in the nodes"
        )
    last = value.rsplit("/", 1)[-1]
    if ":" not in last or last.rsplit(":", 1)[1] in ("", "latest"):
        raise ValueError(
            f"{value!r} has {'no tag' if ':' not in last else 'the latest tag'}; give a tag such as app:dev: a pod "
            "pulls an image tagged latest (or untagged) from its registry by default, never taking the node's copy"
        )
    if not _TAGGED.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an image reference Docker accepts: name:tag, the name in lowercase "
            "(app:dev, me/app:1, registry.local:5000/team/app:1.2)"
        )
    return value


# A kindling:images entry (kindling/config.py), after str's own validation, as the other image keys.
LoadableImage = Annotated[str, AfterValidator(loadable_reference)]


def containerd_name(reference: str) -> str:
    """The name containerd gives an image ``docker save`` wrote as ``reference`` (Docker's own
    normalisation): ``app:dev`` is ``docker.io/library/app:dev``, ``me/app:dev`` is
    ``docker.io/me/app:dev``; a first component with a dot or a port, or ``localhost``, is a registry.

    components/scripts/images-into-nodes.sh does the same in shell (a test keeps them equal)."""
    if "/" not in reference:
        return f"docker.io/library/{reference}"
    first = reference.split("/", 1)[0]
    if "." in first or ":" in first or first == "localhost":
        return reference
    return f"docker.io/{reference}"
