"""Parsing and ordering of the version strings kindling deals in.

Kubernetes and its components publish semantic versions (runc even ships
pre-releases such as ``1.0.0-rc92`` that must sort before ``1.0.0``), so the
``semver`` library does the parsing rather than a hand-written regex.
"""

from __future__ import annotations

import semver

Version = semver.Version


def parse_release(text: str) -> Version:
    """Parse an exact release such as ``1.19.1`` (a leading ``v`` is accepted).

    Raises ValueError for anything that is not MAJOR.MINOR.PATCH, including
    partial versions like ``1.19``, which would be ambiguous for a tool whose
    whole point is reproducing one exact release.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a version string, got {text!r}")
    candidate = text[1:] if text.startswith("v") else text
    version = Version.parse(candidate)  # raises ValueError on malformed input
    if version.build:
        raise ValueError(f"{text!r} has build metadata; give the plain release")
    return version


def is_exact_version(text: str) -> bool:
    """True when ``text`` names one exact (possibly pre-release) version."""
    try:
        parse_release(text)
    except ValueError:
        return False
    return True


def minor_of(version: Version) -> tuple[int, int]:
    return (version.major, version.minor)
