"""make e2e's restart check (tests/e2e/restarted.py) without a cluster: what counts as back after a restart,
with the cluster's answers stood in for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.e2e import restarted
from tests.e2e.checks import Report

SINCE = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
STACK = "rst-unit"
NODES = [f"{STACK}-control-plane", f"{STACK}-worker-1"]


def node(name: str, beat: str, status: str = "True") -> dict:
    return {
        "metadata": {"name": name},
        "status": {"conditions": [{"type": "Ready", "status": status, "lastHeartbeatTime": beat}]},
    }


def running_pod(name: str) -> dict:
    return {
        "metadata": {"name": name},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_a_node_counts_as_back_only_once_its_kubelet_reported_after_the_restart():
    assert restarted.heartbeat_after(node("n", "2026-12-04T12:00:03Z"), SINCE)
    assert not restarted.heartbeat_after(node("n", "2026-12-04T11:59:58Z"), SINCE)  # the status from before
    assert not restarted.heartbeat_after(node("n", "2026-12-04T12:00:03Z", "Unknown"), SINCE)


@pytest.fixture
def cluster(monkeypatch):
    """A cluster that answers as set in the returned dict: its nodes, pods and DNS; no waiting."""
    state = {
        "nodes": [node(n, "2026-12-04T12:00:05Z") for n in NODES],
        "pods": {"kube-system": [running_pod("coredns-1")], "kube-flannel": [running_pod("kube-flannel-ds-1")]},
        "dns": (True, "10.96.0.1 kubernetes.default.svc.cluster.local"),
        "docker": [],
    }
    monkeypatch.setattr(restarted, "nodes", lambda control_plane: state["nodes"])
    monkeypatch.setattr(restarted, "pods", lambda control_plane, namespace: state["pods"][namespace])
    monkeypatch.setattr(restarted, "resolves_from_a_pod", lambda control_plane, image: state["dns"])
    monkeypatch.setattr(restarted, "waited", lambda condition, seconds=0, every=0: condition())
    monkeypatch.setattr(restarted, "restart_began", lambda: SINCE)
    monkeypatch.setattr(restarted, "published_port", lambda container: "127.0.0.1:41000")

    class Done:
        returncode = 0
        stderr = ""

    monkeypatch.setattr(restarted, "run", lambda command: state["docker"].append(command) or Done())
    return state


def restart_checks(report: Report, control_planes: int = 1) -> dict[str, float]:
    return restarted.docker_restart(report, STACK, lambda: True, "kindling/debian:test", control_planes)


def test_a_cluster_back_passes_every_check(cluster):
    report = Report()
    seconds = restart_checks(report)
    assert report.failed == []
    assert "after the restart a new pod resolves kubernetes.default.svc.cluster.local" in report.passed
    assert cluster["docker"] == [["docker", "restart", *NODES]]
    assert {"docker restart", "nodes Ready again", "cluster back"} <= seconds.keys()


def test_nodes_still_showing_the_ready_from_before_the_restart_are_not_back(cluster):
    cluster["nodes"][1] = node(NODES[1], "2026-12-04T11:59:40Z")  # the worker's kubelet has not reported since
    report = Report()
    restart_checks(report)
    assert report.failed == ["after the restart every kubelet reports its node Ready again"]
    assert f"{NODES[1]}': False" in report.failures[report.failed[0]]


def test_a_cluster_whose_pods_or_dns_did_not_come_back_fails(cluster):
    cluster["pods"]["kube-flannel"] = [{"metadata": {"name": "kube-flannel-ds-1"}, "status": {"phase": "Pending"}}]
    cluster["dns"] = (False, "attempt 3: Failed ';; connection timed out'")
    report = Report()
    restart_checks(report)
    assert report.failed == [
        "after the restart every kube-flannel pod Running",
        "after the restart a new pod resolves kubernetes.default.svc.cluster.local",
    ]


def test_several_control_planes_restart_with_their_load_balancer(cluster):
    cluster["nodes"] = [node(n, "2026-12-04T12:00:05Z") for n in [*NODES[:1], f"{STACK}-control-plane-2", *NODES[1:]]]
    report = Report()
    restart_checks(report, control_planes=2)
    assert report.failed == []
    assert cluster["docker"] == [
        ["docker", "restart", f"{STACK}-control-plane", f"{STACK}-control-plane-2", f"{STACK}-worker-1", f"{STACK}-lb"]
    ]
