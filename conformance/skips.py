"""The one list of conformance tests this project skips, each by its exact name and with the reason.

A test is skipped here only when it cannot pass offline, on any cluster: a failure that the
product (node, kubelet, kube-proxy, CNI, DNS) or an image substitute can fix is fixed there
instead. The run passes these names to ginkgo's skip, counts them in its summary as skipped,
and names them with their reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Skip:
    releases: tuple[str, ...]  # the releases whose suite has the test, e.g. ("1.19.1",)
    name: str  # the test's full name, exactly as test/conformance/testdata/conformance.yaml spells it
    reason: str


SKIPPED: tuple[Skip, ...] = ()


def skipped_for(release: str, skips: tuple[Skip, ...] = SKIPPED) -> tuple[Skip, ...]:
    return tuple(skip for skip in skips if release in skip.releases)


def go_quote(text: str) -> str:
    """``text`` as a literal in a Go (RE2) regular expression: only its metacharacters escaped."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)


def skip_pattern(skips: tuple[Skip, ...]) -> str:
    """A regular expression matching exactly those tests' names (ginkgo's ``--skip``)."""
    return "|".join(go_quote(skip.name) for skip in skips)
