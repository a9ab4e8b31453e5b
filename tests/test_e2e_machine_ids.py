"""make e2e's check that no two nodes share a machine id (tests/e2e/checks.py: within a cluster, and across
two clusters restored from one snapshot), with the nodes' answers stood in for."""

from __future__ import annotations

import subprocess

from tests.e2e import checks
from tests.e2e.checks import Report

NODES = ["r1-control-plane", "r1-worker-1", "r2-control-plane", "r2-worker-1"]
CHECK = "r1, r2: every node's machine id its own"


def check_with(monkeypatch, ids: dict[str, str]) -> Report:
    def in_node(node, *command, stdin=None):
        assert command == ("cat", "/etc/machine-id")
        return subprocess.CompletedProcess(command, 0, stdout=f"{ids[node]}\n", stderr="")

    monkeypatch.setattr(checks, "in_node", in_node)
    report = Report()
    checks.machine_ids_their_own(report, CHECK, NODES)
    return report


def test_nodes_with_ids_of_their_own_pass(monkeypatch):
    assert check_with(monkeypatch, {node: f"{i}" * 32 for i, node in enumerate(NODES)}).failed == []


def test_a_machine_id_shared_or_missing_fails(monkeypatch):
    shared = "67b118dfdac04b3983d79be458db3b03"  # what every node got from the image's D-Bus machine id
    ids = {"r1-control-plane": "a" * 32, "r1-worker-1": shared, "r2-control-plane": "b" * 32, "r2-worker-1": shared}
    assert check_with(monkeypatch, ids).failed == [CHECK]
    ids["r2-worker-1"] = ""
    assert check_with(monkeypatch, ids).failed == [CHECK]
