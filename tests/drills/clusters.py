"""The clusters the drills bring up beside the first: each its own throwaway tree, state and passphrase.

Their names start with ``drill-``: on an engine other work shares, that is how the drills know what is theirs.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

from bundle.__main__ import default_out
from tests.e2e import checks
from tests.e2e.bringup import pulumi
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed
from tests.e2e.throwaway import Throwaway

DRILL_PREFIX = "drill-"


def bundle_built(release: str) -> bool:
    """The release's bundle, built or reused (a cached build only re-imports its images)."""
    built = subprocess.run([sys.executable, "-m", "bundle", "build", release, "--out", str(default_out(release))])
    return built.returncode == 0


@dataclass
class DrillCluster(Throwaway):
    """A stack of ``stack``'s release under the cluster name ``name`` (drill-...), in a tree of its own."""

    workers: int = 0
    chart: bool = False
    purpose: ClassVar[str] = "drills"

    def __post_init__(self) -> None:
        if not self.name.startswith(DRILL_PREFIX):
            raise ValueError(f"a drill's cluster is named {DRILL_PREFIX}...: {self.name}")
        super().__post_init__()

    def api_container(self) -> str:
        return checks.api_container(self.name, self.control_planes)

    def all_ready(self) -> bool:
        return checks.all_ready(self.control_plane, len(self.nodes()))

    def no_changes(self) -> bool:
        """What a second `up` would do: nothing (`pulumi preview --expect-no-changes` with the policy pack)."""
        flags = ["--stack", self.name, "--non-interactive", "--policy-pack", str(self.work / "policies")]
        return pulumi(["preview", "--expect-no-changes", *flags], self.work, self.env, self.log)


def ready_and_running(report: Report | Prefixed, cluster: DrillCluster, what: str) -> None:
    """Every node of ``cluster`` Ready and every kube-system pod Running, each waited for."""
    report.check(
        f"every node Ready {what}",
        bool(checks.waited(cluster.all_ready)),
        f"{checks.node_states(cluster.control_plane)}",
    )
    running = checks.waited(
        lambda: (found := checks.pods(cluster.control_plane, "kube-system")) and not checks.not_ready(found)
    )
    report.check(
        f"every kube-system pod Running {what}",
        bool(running),
        ", ".join(checks.not_ready(checks.pods(cluster.control_plane, "kube-system"))),
    )
