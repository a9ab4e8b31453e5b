"""Drill 7, killed restores ("restore-kills"): `up` of a stack started from a snapshot, killed at its steps.

drill-s-STACK (one control plane, one worker) is captured as the snapshot drill-STACK and destroyed. The stack
drill-r-STACK, started from it, has its `up` SIGKILLed during a node's `/var` fill, the control plane's new
identity, the control plane's restore and the wait for the pod network, each followed by `make recover`
(tools/recover.py). The next `up` must give a working cluster: every node Ready, every kube-system pod Running,
a pod's DNS answer, nothing of it that no resource owns; its destroy leaves nothing. The snapshot must come
through whole: a fill shares containerd's layers with it by hard links, so a killed fill that wrote through one
would spoil every later restore. A second restore from it, after all that, must work as well; then the snapshot
is removed.
"""

from __future__ import annotations

import subprocess
import sys
import time

from kindling.snapshots import list_snapshots
from tests.drills.clusters import DrillCluster, ready_and_running
from tests.drills.kills import recover, strays_of, up_killed_at
from tests.e2e import checks
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed
from tests.e2e.run import dns_image
from tests.e2e.throwaway import ROOT

DRILL = "restore-kills"
# Where to kill a restore's `up`: the line the engine prints when the step starts (its name after the
# cluster's, for the fill), and how long after it. A fill takes about a second: killed as soon as seen.
KILL_POINTS = (
    ("during the control plane's /var fill", "-control-plane-var-copy creating", 0.0),
    ("during the control plane's new identity", "command:local:Command snapshot-identity creating", 1.0),
    ("during the control plane's restore", "command:local:Command snapshot-restore creating", 2.0),
    ("while the pod network starts", "command:local:Command snapshot-pod-network creating", 1.0),
)


def names(stack: str) -> tuple[str, str, str]:
    """The source cluster's name, the snapshot's and the restored cluster's."""
    return f"drill-s-{stack}", f"drill-{stack}", f"drill-r-{stack}"


def run(report: Report, stack: str, env: dict) -> None:
    source_name, snapshot, restored_name = names(stack)
    taken = [name for name in (source_name, restored_name) if checks.cluster_on_engine(name)]
    taken += [f"snapshot {snapshot}"] if snapshot in list_snapshots() else []
    if taken:
        report.fail(f"{DRILL}: names free", f"on this engine already: {', '.join(taken)}")
        return
    source = DrillCluster(stack, source_name, env, workers=1)
    try:
        if not source.create(Prefixed(report, DRILL)):
            return
        made = subprocess.run([sys.executable, "-m", "snapshot", "create", source_name, "--name", snapshot], cwd=ROOT)
        if not report.check(f"{DRILL}: make snapshot of {source_name}", made.returncode == 0, "see the lines above"):
            return
    finally:
        source.destroy(Prefixed(report, source_name))
    try:
        restored = DrillCluster(stack, restored_name, env, workers=1, snapshot=snapshot)
        work, log = restored.work, restored.log
        select = ["pulumi", "stack", "select", "--create", "--stack", restored_name]
        subprocess.run(select, cwd=work, env=restored.env, capture_output=True)
        try:
            for where, marker, delay in KILL_POINTS:
                missed = up_killed_at(marker, delay, restored_name, work, restored.env, log)
                if not report.check(f"{DRILL}: up killed {where}", not missed, missed):
                    break
                report.check(
                    f"{DRILL}: make recover after up was killed {where}",
                    recover(restored_name, work, restored.env, log),
                    f"see {log}",
                )
            if restored.create(Prefixed(report, f"{DRILL}: after the kills")):
                working(report, restored, dns_image(restored.config))
            stray = strays_of(restored_name, work, restored.env)
            report.check(
                f"{DRILL}: nothing of {restored_name} that no resource owns", not stray, ", ".join(map(str, stray))
            )
        finally:
            restored.destroy(Prefixed(report, restored_name))
        again = DrillCluster(stack, restored_name, env, workers=1, snapshot=snapshot)
        try:
            if again.create(Prefixed(report, f"{DRILL}: restored again from {snapshot}")):
                working(report, again, dns_image(again.config), what="restored again")
        finally:
            again.destroy(Prefixed(report, f"{restored_name} (again)"))
    finally:
        removed = subprocess.run([sys.executable, "-m", "snapshot", "rm", snapshot], cwd=ROOT, capture_output=True)
        report.check(f"{DRILL}: make snapshot-rm NAME={snapshot}", removed.returncode == 0, removed.stdout.decode())


def working(report: Report, cluster: DrillCluster, dns_image: str, what: str = "after the kills") -> None:
    """Every node Ready, every kube-system pod Running, and a pod's DNS answer."""
    step = time.monotonic()
    ready_and_running(Prefixed(report, DRILL), cluster, what)
    checks.dns_check(Prefixed(report, f"{DRILL} ({what})"), cluster.control_plane, dns_image)
    report.time(f"{DRILL}: checks {what}", time.monotonic() - step)
