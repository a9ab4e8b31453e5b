"""The clusters the drills bring up beside the first: each its own throwaway tree, state and passphrase.

Their names start with ``drill-``: on an engine other work shares, that is how the drills know what is theirs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bundle.__main__ import default_out
from tests.e2e import checks
from tests.e2e.bringup import Bringup, pulumi, set_config
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed
from tests.e2e.run import ROOT, prepare, tear_down

DRILL_PREFIX = "drill-"


def release_of(stack: str) -> str:
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return str(document["config"]["kindling:kubernetesVersion"])


def bundle_built(release: str) -> bool:
    """The release's bundle, built or reused (a cached build only re-imports its images)."""
    built = subprocess.run([sys.executable, "-m", "bundle", "build", release, "--out", str(default_out(release))])
    return built.returncode == 0


@dataclass
class DrillCluster:
    """A stack of ``stack``'s release under the cluster name ``name``, in a tree of its own under ``work``."""

    stack: str
    name: str
    env: dict
    workers: int = 0
    control_planes: int = 1
    work: Path = field(init=False)
    config: dict = field(init=False)
    up: Bringup = field(init=False)

    def __post_init__(self) -> None:
        if not self.name.startswith(DRILL_PREFIX):
            raise ValueError(f"a drill's cluster is named {DRILL_PREFIX}...: {self.name}")
        self.work = Path(tempfile.mkdtemp(prefix=f"kindling-drills-{self.name}-"))
        self.env = {
            **self.env,
            "PULUMI_BACKEND_URL": f"file://{self.work}/.state",
            "PULUMI_CONFIG_PASSPHRASE": f"drills-{self.name}-{os.getpid()}",
        }
        (self.work / ".state").mkdir(parents=True)
        bundle = default_out(release_of(self.stack))
        self.config, _ = prepare(self.stack, bundle, self.work, workers=self.workers, chart=False, name=self.name)
        if self.control_planes > 1:
            set_config(self.work, self.name, controlPlanes=self.control_planes)
            self.config["kindling:controlPlanes"] = self.control_planes
        # Enough to tear it down by hand if the run stops half way (python -m tests.e2e.run STACK --destroy WORK).
        (self.work / "e2e-run.json").write_text(
            json.dumps({"name": self.name, "engine": True, "passphrase": self.env["PULUMI_CONFIG_PASSPHRASE"]})
        )
        self.log = self.work / "drills.log"
        self.kubeconfig = self.work / "kubeconfig"
        self.up = Bringup(self.name, self.work, self.env, self.log, self.kubeconfig, engine=True)

    @property
    def release(self) -> str:
        return release_of(self.stack)

    @property
    def control_plane(self) -> str:
        return f"{self.name}-control-plane"

    def nodes(self) -> list[str]:
        return checks.node_names(self.name, self.control_planes, self.workers)

    def api_container(self) -> str:
        return checks.api_container(self.name, self.control_planes)

    def create(self, report: Report | Prefixed) -> bool:
        step = time.monotonic()
        made = self.up.create()
        report.check(f"{self.name} up", made, f"see {self.log}")
        report.time(f"{self.name} up", time.monotonic() - step)
        return made

    def host_kubectl(self, *arguments: str, timeout: str = "20s", stdin: str | None = None):
        kubectl = checks.host_kubectl(self.work, self.config)
        flags = [f"--kubeconfig={self.kubeconfig}", f"--request-timeout={timeout}"]
        return checks.run([str(kubectl), *flags, *arguments], stdin)

    def all_ready(self) -> bool:
        return checks.all_ready(self.control_plane, len(self.nodes()))

    def no_changes(self) -> bool:
        """What a second `up` would do: nothing (`pulumi preview --expect-no-changes` with the policy pack)."""
        flags = ["--stack", self.name, "--non-interactive", "--policy-pack", str(self.work / "policies")]
        return pulumi(["preview", "--expect-no-changes", *flags], self.work, self.env, self.log)

    def destroy(self, report: Report | Prefixed) -> None:
        """Destroy, and check that nothing of it is left (as `make e2e`); the tree is kept when a check failed."""
        tear_down(report, self.up, self.work, f"kept {self.work} for a look at what failed ({self.log.name})")
