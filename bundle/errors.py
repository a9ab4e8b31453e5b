"""The one error a bundle build reports: what failed (component, module, version) and why."""

from __future__ import annotations


class BuildError(Exception):
    def __init__(self, what: str, details: list[str]):
        self.what = what
        self.details = details
        super().__init__(f"{what}: " + "\n  ".join(details))
