"""Where the conformance run keeps what it builds and what it reports, outside the tree."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``~/.cache/kindling/conformance`` (``KINDLING_CONFORMANCE_CACHE`` moves it)."""
    configured = os.environ.get("KINDLING_CONFORMANCE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kindling" / "conformance"


def release_dir(release: str) -> Path:
    return cache_root() / release
