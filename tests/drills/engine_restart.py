"""Drill 2, engine restart: the Docker daemon itself stopped and started with clusters up.

The clusters: the first (one control plane, two workers) and one with three control planes behind the load
balancer, both up through one restart. Afterwards every node of each is Ready again, the API server keeps its
host port, each node its address, and a second `up` changes nothing. Timed from the daemon's start to every
node Ready.

The engine is shared with other work on the host, and restarting it kills every container on it. So the drill
first waits (polling every minute, an hour at most) until no container runs that is not a drill's, no
conformance run, make e2e, matrix or bench is on, and any bundle build is compiling Go (which needs no
Docker); if the wait runs out it fails, saying it did not restart the engine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.drills.clusters import DRILL_PREFIX, DrillCluster
from tests.e2e import checks
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed
from tests.e2e.run import ROOT

POLL_SECONDS = 60
WAIT_MINUTES = 60
STOP_SECONDS = 180
READY_SECONDS = 900


def busy_because(running: list[str], conformance: str, other_runs: str, bundle_builds: str, compiling: str) -> str:
    """Why the shared engine must not be restarted now, in words; "" when nothing else needs it.

    ``running``: names of the running containers; ``conformance``, ``other_runs`` (make e2e, matrix or bench),
    ``bundle_builds``, ``compiling`` (the Go compiler's processes): what `pgrep -af` found of each.
    """
    reasons = []
    others = sorted(name for name in running if not name.startswith(DRILL_PREFIX))
    if others:
        reasons.append(f"containers not the drills' run: {', '.join(others)}")
    if conformance.strip():
        reasons.append("a conformance run is on")
    # Between two of its clusters such a run has no container up, and needs the engine all the same.
    if other_runs.strip():
        reasons.append(f"another kindling run is on: {other_runs.strip().splitlines()[0]}")
    # A Go compile needs no Docker; an image import, a node image build or a check does.
    if bundle_builds.strip() and not compiling.strip():
        reasons.append("a bundle build is past its Go compiles")
    return "; ".join(reasons)


def python_processes(pattern: str) -> str:
    """`pgrep -af` of ``pattern``, python processes only (pgrep lists its own shell too)."""
    found = checks.run(["pgrep", "-af", "--", pattern]).stdout
    return "\n".join(line for line in found.splitlines() if "python" in line)


def engine_busy() -> str:
    return busy_because(
        checks.run(["docker", "ps", "--format", "{{.Names}}"]).stdout.split(),
        python_processes("python -m conformance"),
        python_processes(r"python -m (tests\.e2e\.run|tests\.e2e\.matrix|bench)( |$)"),
        python_processes("python -m bundle build"),
        checks.run(["pgrep", "-x", "compile"]).stdout,
    )


def waited_for_engine(say: Callable[[str], None], minutes: float = WAIT_MINUTES) -> str:
    """Polls until the engine is free; returns "" then, or why it was still busy when the wait ran out."""
    deadline = time.monotonic() + minutes * 60
    while True:
        busy = engine_busy()
        if not busy or time.monotonic() >= deadline:
            return busy
        say(f"engine restart waits: {busy}")
        time.sleep(min(POLL_SECONDS, max(1.0, deadline - time.monotonic())))


def dockerd_pid() -> int | None:
    found = checks.run(["pgrep", "-x", "dockerd"]).stdout.split()
    return int(found[0]) if found else None


def restart_dockerd() -> tuple[str, float]:
    """SIGTERM to dockerd, its exit awaited, then started as .ci/start-docker.sh starts it.

    Returns what went wrong ("" when nothing) and the monotonic time the daemon was started.
    """
    pid = dockerd_pid()
    if pid is None:
        return "no dockerd runs", time.monotonic()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if Path(f"/proc/{pid}").exists():
        return f"dockerd (pid {pid}) still runs {STOP_SECONDS}s after SIGTERM", time.monotonic()
    started = time.monotonic()
    env = {**os.environ, "DOCKER_WAIT_SECONDS": "300"}
    start = subprocess.run(["bash", str(ROOT / ".ci" / "start-docker.sh")], env=env, capture_output=True, text=True)
    return ("" if start.returncode == 0 else f"start-docker.sh: {start.stderr.strip()[-300:]}"), started


def addresses(cluster: DrillCluster) -> dict[str, str]:
    shape = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    containers = [*cluster.nodes(), *([cluster.api_container()] if cluster.control_planes > 1 else [])]
    return {name: checks.run(["docker", "inspect", "--format", shape, name]).stdout.strip() for name in containers}


def run(report: Report, clusters: list[DrillCluster], say: Callable[[str], None], wait_minutes: float) -> None:
    drill = Prefixed(report, "engine restart")
    busy = waited_for_engine(say, wait_minutes)
    if not drill.check(
        "the shared engine is free to restart", not busy, f"not restarted after {wait_minutes:g} min: {busy}"
    ):
        return
    before = {c.name: (checks.published_port(c.api_container()), addresses(c)) for c in clusters}
    load = os.getloadavg()[0]
    failed, started = restart_dockerd()
    if not drill.check("dockerd stopped (SIGTERM) and started again", not failed, failed):
        return
    for cluster in clusters:
        shape = f"{cluster.control_planes} control plane{'s' if cluster.control_planes > 1 else ''} + {cluster.workers}"
        ready = checks.waited(cluster.all_ready, READY_SECONDS)
        seconds = time.monotonic() - started
        drill.check(
            f"{cluster.name} ({shape}): every node Ready {seconds:.0f}s after dockerd started (load {load:.0f})",
            bool(ready),
            f"{checks.node_states(cluster.control_plane)}; containers: {addresses(cluster)}",
        )
        drill.time(f"{cluster.name} Ready after the engine started", seconds)
        port, was = before[cluster.name]
        now = checks.published_port(cluster.api_container())
        drill.check(f"{cluster.name} keeps its API port", now == port and bool(port), f"{port} before, {now} after")
        drill.check(
            f"{cluster.name}'s nodes keep their addresses", addresses(cluster) == was, f"{was} -> {addresses(cluster)}"
        )
        drill.check(f"{cluster.name}: a second up changes nothing", cluster.no_changes(), f"see {cluster.log}")
