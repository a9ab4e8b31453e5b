"""make drills STACK=k8s-1-19-1: what happens around the happy path, each a named check.

    python -m tests.drills.run STACK [--name NAME] [--keep] [--drills kills,load,restart,side,restore-kills]

Every cluster is named drill-...; each is brought up from its release's bundle in a throwaway tree, with the
real engine (the docker and command provider plugins; where they are missing the run says so and stops), and
destroyed at the end with nothing left (as `make e2e` checks). In order:
1. Killed `up` (drill 1, "kills"): on drill-STACK (one control plane, two workers), `pulumi up` is killed with
   SIGKILL during the node image build, then during `kubeadm init`, then during the first worker's join;
   after each kill, the recovery the README gives (`make recover`, tools/recover.py). The next `up` (with
   --verbose 9) must give a working cluster, and no Docker object of the cluster may be left that no
   resource owns.
6. No credential leaks (drill 6, with "kills"): the state files, the update log, the verbose log outside the
   engine's own RPC trace (counted apart: Pulumi's leak), `docker inspect` of every node and the process list
   sampled through every `up` hold no kubeconfig client key, private key, bootstrap token or certificate key.
5. Load (drill 5, "load", tests/drills/load.py): 150 pause pods on drill-STACK, then deleted.
2. Engine restart (drill 2, "restart", tests/drills/engine_restart.py): with drill-STACK and drill-ha-STACK
   (three control planes) up, dockerd stopped and started, once no one else uses the engine.
3. Side by side (drill 3, "side", tests/drills/side_by_side.py): 1.19.1, 1.34.0, 1.22.0 and a second
   1.19.1 cluster up at once; destroying one leaves the others untouched.
7. Killed restores (drill 7, "restore-kills", tests/drills/restore_kills.py): `up` of a stack started from a
   snapshot of drill-s-STACK, killed at four of its steps, each time recovered; the next `up` works, the
   snapshot restores again.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from tests.drills import engine_restart, leaks, load, restore_kills, side_by_side
from tests.drills.clusters import DrillCluster, bundle_built, ready_and_running
from tests.drills.kills import recover, strays_of, up_command, up_killed_at
from tests.e2e import checks
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed
from tests.e2e.run import real_engine_plugins, say, toolchain_env
from tests.e2e.throwaway import release_of

# Where to kill `up`: the line the engine prints when the step starts, and how long after it.
KILL_POINTS = (
    ("during the node image build", "docker:index:RemoteImage node-image creating", 8),
    ("during kubeadm init", "command:local:Command kubeadm-init creating", 6),
    ("during the worker's join", "command:local:Command worker-1-join creating", 2),
)


def client_key(kubeconfig: Path) -> str:
    document = yaml.safe_load(kubeconfig.read_text()) if kubeconfig.exists() else None
    users = (document or {}).get("users") or [{}]
    return users[0].get("user", {}).get("client-key-data", "")


DRILLS = ("kills", "load", "restart", "side", "restore-kills")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.drills.run")
    parser.add_argument("stack")
    parser.add_argument("--name", type=checks.cluster_name, help="the first cluster's name (default: drill-STACK)")
    parser.add_argument("--keep", action="store_true", help="leave the first cluster up (and the throwaway tree)")
    parser.add_argument(
        "--drills",
        default=",".join(DRILLS),
        help="which, in this order: kills (1 and 6), load (5), restart (2), side (3), restore-kills (7); default: all",
    )
    parser.add_argument(
        "--engine-wait-minutes", type=float, default=engine_restart.WAIT_MINUTES, help="how long drill 2 waits"
    )
    args = parser.parse_args(argv)
    chosen = [drill for drill in args.drills.split(",") if drill]
    if unknown := sorted(set(chosen) - set(DRILLS)):
        parser.error(f"--drills: no drill {', '.join(unknown)} (there are {', '.join(DRILLS)})")
    stack, name = args.stack, args.name or f"drill-{args.stack}"
    report = Report()
    started = time.monotonic()
    env = toolchain_env()
    if not real_engine_plugins(env):
        report.fail(
            "the real engine",
            "killing `pulumi up` and restarting the engine need the docker and command provider plugins "
            "(pulumi plugin ls); README, Real engine, says how to install them",
        )
        return report.close()
    if {"kills", "load", "restart"} & set(chosen):
        first_cluster(report, args, chosen, stack, name, env)
    if "side" in chosen:
        side_by_side.run(report, env, say=say)
    if "restore-kills" in chosen and report.check(
        "the bundle", bundle_built(release_of(stack)), f"make bundle RELEASE={release_of(stack)}"
    ):
        restore_kills.run(report, stack, env)
    report.time("total", time.monotonic() - started)
    return report.close()


def first_cluster(report: Report, args: argparse.Namespace, chosen: list[str], stack: str, name: str, env: dict):
    """Drills 1 and 6 (its up), 5 and 2 on one cluster of one control plane and two workers, then teardown."""
    taken = checks.cluster_on_engine(name)
    if taken:
        report.fail("cluster name free", f"a cluster named {name} is already on this Docker engine ({taken})")
        return
    if not report.check("the bundle", bundle_built(release_of(stack)), f"make bundle RELEASE={release_of(stack)}"):
        return
    cluster = DrillCluster(stack, name, env, workers=2)
    say(f"the real engine; nodeSecurity {cluster.config.get('kindling:nodeSecurity', 'privileged')}; {cluster.work}")
    select = ["pulumi", "stack", "select", "--create", "--stack", name]
    subprocess.run(select, cwd=cluster.work, env=cluster.env, capture_output=True)
    highly_available: DrillCluster | None = None
    try:
        up = killed_ups_and_leaks(report, cluster) if "kills" in chosen else cluster.create(report)
        if up and "load" in chosen:
            load.run(report, cluster, f"{os.getloadavg()[0]:.0f}")
        if up and "restart" in chosen:
            highly_available = DrillCluster(stack, f"drill-ha-{stack}", env, control_planes=3)
            if highly_available.create(Prefixed(report, "engine restart")):
                engine_restart.run(report, [cluster, highly_available], say, args.engine_wait_minutes)
    finally:
        if highly_available is not None:
            highly_available.destroy(Prefixed(report, highly_available.name))
        if args.keep:
            say(f"kept: {cluster.work}; tear it down: python -m tests.e2e.run {stack} --destroy {cluster.work}")
        else:
            cluster.destroy(report)


def killed_ups_and_leaks(report: Report, cluster: DrillCluster) -> bool:
    """Drill 1 (three killed ups, each recovered, then an up with --verbose 9) and drill 6 over all of them."""
    name, work, env, log, kubeconfig = cluster.name, cluster.work, cluster.env, cluster.log, cluster.kubeconfig
    verbose_log = work / "verbose.log"
    with leaks.ProcessSampler() as processes:
        for where, marker, delay in KILL_POINTS:
            missed = up_killed_at(marker, delay, name, work, env, log)
            if not report.check(f"up killed {where}", not missed, missed):
                break
            step = time.monotonic()
            report.check(f"make recover after up was killed {where}", recover(name, work, env, log), f"see {log}")
            report.time(f"recover {where.removeprefix('during ')}", time.monotonic() - step)
        step = time.monotonic()
        with log.open("a") as sink, verbose_log.open("w") as trace:
            sink.write(f"\n$ {' '.join(up_command(name, work, verbose=True))}  # its stderr: {verbose_log}\n")
            sink.flush()
            # The engine's trace (stderr) apart from the update's own output, so that each trace record is whole.
            finished = subprocess.run(
                up_command(name, work, verbose=True), cwd=work, env=env, stdout=sink, stderr=trace
            )
        report.time("the up after the kills", time.monotonic() - step)
    recovered = report.check("the up after three kills and recoveries succeeds", finished.returncode == 0, f"{log}")
    if recovered:
        shown = subprocess.run(
            ["pulumi", "stack", "output", "kubeconfig", "--show-secrets", "--stack", name],
            cwd=work, env=env, capture_output=True, text=True,
        )  # fmt: skip
        fd = os.open(kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(shown.stdout)
        ready_and_running(report, cluster, "after the kills")
    stray = strays_of(name, work, env)
    report.check("nothing of the cluster left that no resource owns", not stray, ", ".join(map(str, stray)))
    credentials_hidden(report, cluster, processes, verbose_log)
    return recovered


def credentials_hidden(report: Report, cluster: DrillCluster, processes: leaks.ProcessSampler, verbose_log: Path):
    """Drill 6. Pulumi's own traces in the verbose log (leaks.PULUMI_TRACES) are counted apart: its leak."""
    key = client_key(cluster.kubeconfig)
    report.check("the kubeconfig has a client key to look for", bool(key), "no kubeconfig output")
    known = {"the kubeconfig's client key": key, "the kubeconfig's client key (decoded)": decoded(key)}
    containers = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", f"label=kindling.cluster={cluster.name}"],
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    others, pulumi_traces = leaks.verbose_log_records(verbose_log.read_text(errors="replace"))
    found = leaks.scan(
        {
            "state": leaks.plaintext_files(cluster.work / ".state"),
            "update log": {cluster.log.name: cluster.log.read_text(errors="replace")},
            "verbose log": others,
            "docker inspect": leaks.inspected(containers),
            "process list": processes.texts(known),
        },
        known,
    )
    report.check(
        "no credential in the state, the update log, the verbose log outside Pulumi's own traces, "
        "docker inspect or the process list",
        not found,
        "; ".join(f"{where}: {', '.join(what)}" for where, what in found.items()),
    )
    in_traces = Counter(where.rsplit(": ", 1)[-1] for where in leaks.scan({"": pulumi_traces}, known))
    said = "; ".join(f"{count} records of {source}" for source, count in sorted(in_traces.items()))
    say(
        f"known: Pulumi engine: {said} hold a credential in plaintext in the --verbose 9 log (of "
        f"{len(pulumi_traces)} such records); Pulumi writes them, kindling cannot hide them: never share a verbose log"
        if in_traces
        else f"known: Pulumi engine: none of the {len(pulumi_traces)} records of Pulumi's traces held a credential"
    )


def decoded(value: str) -> str:
    try:
        return base64.b64decode(value).decode().split("\n", 2)[1] if value else ""  # a line of the key itself
    except (ValueError, IndexError):
        return ""


if __name__ == "__main__":
    sys.exit(main())
