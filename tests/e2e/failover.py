"""The failover drill of make e2e with several control planes: each of two stopped in turn, behind the load balancer."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.e2e.checks import Report, node_names, ready, run, waited


def failover(report: Report, stack: str, kubeconfig: Path, kubectl: Path, control_planes: int) -> dict[str, float]:
    """Stop each of two control planes in turn (the first, which kubeadm init made, and the second), asking
    everything from the host through the load balancer: the API answers, the cluster notices the node is
    gone (its controllers and etcd keep working), a write succeeds, and the node is Ready once started."""
    seconds: dict[str, float] = {}
    count = len(node_names(stack, control_planes))

    def ask(*arguments: str) -> subprocess.CompletedProcess:
        return run([str(kubectl), "--kubeconfig", str(kubeconfig), "--request-timeout=5s", *arguments])

    def node_ready() -> dict[str, bool]:
        listed = ask("get", "nodes", "-o", "json")
        return (
            {n["metadata"]["name"]: ready(n) for n in json.loads(listed.stdout)["items"]}
            if listed.returncode == 0
            else {}
        )

    for stopped in (f"{stack}-control-plane", f"{stack}-control-plane-2"):
        run(["docker", "stop", stopped])
        step = time.monotonic()
        report.check(
            f"with {stopped} stopped, the API answers through the load balancer", waited(lambda: bool(node_ready()), 60)
        )
        seconds[f"API answers without {stopped}"] = time.monotonic() - step
        noticed = waited(lambda node=stopped: node_ready().get(node) is False, 180)
        report.check(f"the cluster marks {stopped} NotReady", noticed, f"{node_ready()}")
        seconds[f"{stopped} marked NotReady"] = time.monotonic() - step
        name = f"failover-{stopped}"
        wrote = ask("create", "configmap", name, "--from-literal=stopped=" + stopped)
        report.check(f"with {stopped} stopped, a write succeeds", wrote.returncode == 0, wrote.stderr.strip())
        ask("delete", "configmap", name)
        run(["docker", "start", stopped])
        step = time.monotonic()
        back = waited(lambda: len(states := node_ready()) == count and all(states.values()))
        report.check(f"{stopped} started again: every node Ready", back, f"{node_ready()}")
        seconds[f"{stopped} Ready again"] = time.monotonic() - step
    return seconds
