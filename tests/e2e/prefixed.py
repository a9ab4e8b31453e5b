"""A Report under a prefix: runs with several clusters (drills, restores) tell their checks apart."""

from __future__ import annotations

from tests.e2e.checks import Report


class Prefixed:
    """A Report whose check names start with the drill's (tear_down's checks have the same names for each cluster)."""

    def __init__(self, report: Report, prefix: str):
        self.report, self.prefix = report, prefix

    @property
    def failed(self) -> list[str]:
        return self.report.failed

    def ok(self, name: str, detail: str = "") -> None:
        self.report.ok(f"{self.prefix}: {name}", detail)

    def fail(self, name: str, detail: str) -> None:
        self.report.fail(f"{self.prefix}: {name}", detail)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        return self.report.check(f"{self.prefix}: {name}", passed, detail)

    def time(self, name: str, seconds: float) -> None:
        self.report.time(f"{self.prefix}: {name}", seconds)
