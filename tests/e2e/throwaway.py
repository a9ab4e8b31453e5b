"""A cluster of a stack's release in a throwaway tree of its own: its state, passphrase, log and kubeconfig.

`make e2e --snapshot` brings several up, one after another and side by side (tests/e2e/restores.py), and
so do the drills (tests/drills/clusters.py): each is a copy of the tree pointed at the release bundle
(tests/e2e/run.py's prepare), under a cluster name of its own.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import yaml

from bundle.__main__ import default_out
from tests.e2e import checks
from tests.e2e.bringup import Bringup, set_config
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed

ROOT = Path(__file__).resolve().parents[2]


def release_of(stack: str) -> str:
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return str(document["config"]["kindling:kubernetesVersion"])


@dataclass
class Throwaway:
    """``stack``'s release under the cluster name ``name``; ``snapshot`` starts it from that snapshot."""

    stack: str
    name: str
    env: dict
    engine: bool = True
    workers: int = 1
    chart: bool = True
    control_planes: int = 1
    snapshot: str | None = None
    # What the run is: it names the tree, the passphrase and the log.
    purpose: ClassVar[str] = "e2e"
    work: Path = field(init=False)
    config: dict = field(init=False)

    def __post_init__(self) -> None:
        from tests.e2e.run import prepare  # run.py imports restores.py, which imports this module

        self.work = Path(tempfile.mkdtemp(prefix=f"kindling-{self.purpose}-{self.name}-"))
        self.env = {
            **self.env,
            "PULUMI_BACKEND_URL": f"file://{self.work}/.state",
            "PULUMI_CONFIG_PASSPHRASE": f"{self.purpose}-{self.name}-{os.getpid()}",
        }
        (self.work / ".state").mkdir()
        bundle = default_out(self.release)
        self.config, _ = prepare(self.stack, bundle, self.work, workers=self.workers, chart=self.chart, name=self.name)
        if self.control_planes > 1:
            set_config(self.work, self.name, controlPlanes=self.control_planes)
            self.config["kindling:controlPlanes"] = self.control_planes
        if self.snapshot:
            set_config(self.work, self.name, snapshot=self.snapshot)
        # Enough to tear it down by hand if the run stops half way (python -m tests.e2e.run STACK --destroy WORK).
        (self.work / "e2e-run.json").write_text(
            json.dumps({"name": self.name, "engine": self.engine, "passphrase": self.env["PULUMI_CONFIG_PASSPHRASE"]})
        )
        self.log = self.work / f"{self.purpose}.log"
        self.kubeconfig = self.work / "kubeconfig"
        self.up = Bringup(self.name, self.work, self.env, self.log, self.kubeconfig, self.engine)

    @property
    def release(self) -> str:
        return release_of(self.stack)

    @property
    def control_plane(self) -> str:
        return f"{self.name}-control-plane"

    def nodes(self) -> list[str]:
        return checks.node_names(self.name, self.control_planes, self.workers)

    def create(self, report: Report | Prefixed) -> bool:
        step = time.monotonic()
        made = report.check(f"{self.name} up", self.up.create(), f"see {self.log}")
        report.time(f"{self.name} up", time.monotonic() - step)
        return made

    def host_kubectl(self, *arguments: str, timeout: str = "20s", stdin: str | None = None, server: str = ""):
        """kubectl from the host with the cluster's kubeconfig (``server``: another API server instead)."""
        kubectl = checks.host_kubectl(self.work, self.config)
        flags = [f"--kubeconfig={self.kubeconfig}", f"--request-timeout={timeout}"]
        flags += [f"--server={server}"] if server else []
        return checks.run([str(kubectl), *flags, *arguments], stdin)

    def destroy(self, report: Report | Prefixed) -> None:
        """Destroy, and check that nothing of it is left (as `make e2e`); the tree is kept when a check failed."""
        from tests.e2e.run import tear_down

        tear_down(report, self.up, self.work, f"kept {self.work} for a look at what failed ({self.log.name})")
