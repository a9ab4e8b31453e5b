"""make e2e --snapshot's check that restored nodes each have a machine id of their own (tests/e2e/restores.py),
with the nodes' answers stood in for."""

from __future__ import annotations

import subprocess

from tests.e2e import restores
from tests.e2e.checks import Report


class Restored:
    def __init__(self, name: str):
        self.name = name

    def nodes(self) -> list[str]:
        return [f"{self.name}-control-plane", f"{self.name}-worker-1"]


def check_with(monkeypatch, ids: dict[str, str]) -> Report:
    def in_node(node, *command, stdin=None):
        assert command == ("cat", "/etc/machine-id")
        return subprocess.CompletedProcess(command, 0, stdout=f"{ids[node]}\n", stderr="")

    monkeypatch.setattr(restores.checks, "in_node", in_node)
    report = Report()
    restores.machine_ids_their_own(report, Restored("r1"), Restored("r2"))
    return report


def test_nodes_of_two_restores_with_ids_of_their_own_pass(monkeypatch):
    ids = {f"r{c}-{n}": f"{c}{i}" * 16 for c in (1, 2) for i, n in enumerate(("control-plane", "worker-1"))}
    assert check_with(monkeypatch, ids).failed == []


def test_a_machine_id_shared_across_restores_or_missing_fails(monkeypatch):
    shared = "67b118dfdac04b3983d79be458db3b03"  # what every node got from the image's D-Bus machine id
    ids = {"r1-control-plane": "a" * 32, "r1-worker-1": shared, "r2-control-plane": "b" * 32, "r2-worker-1": shared}
    assert check_with(monkeypatch, ids).failed == ["r1, r2: every node's machine id its own"]
    ids["r2-worker-1"] = ""
    assert check_with(monkeypatch, ids).failed == ["r1, r2: every node's machine id its own"]
