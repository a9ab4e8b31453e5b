"""make bench ARGS=--snapshot: both shapes the snapshot goals name are measured and reported."""

import json

import yaml

from bench import __main__ as bench_main
from bench import snapshots


def test_each_shape_is_measured_with_its_own_worker_count_and_keeps_its_figures_apart(tmp_path, monkeypatch):
    stack_file = tmp_path / "stacks" / "Pulumi.b.yaml"
    stack_file.parent.mkdir()
    stack_file.write_text(yaml.safe_dump({"config": {"kindling:workers": 1}}))
    seen = []

    def fake_measure(name, work, up, rounds, ready, say):
        workers = yaml.safe_load(stack_file.read_text())["config"]["kindling:workers"]
        seen.append((workers, ready()))
        return {"kindling": [50.0 + workers], "snapshot": [20.0 + workers]}

    monkeypatch.setattr(snapshots, "measure", fake_measure)
    figures = snapshots.measure_shapes("b", tmp_path, None, 1, lambda nodes: float(nodes), lambda _: None)
    # ready() is asked for every node of the shape: the control plane and its workers.
    assert seen == [(1, 2.0), (0, 1.0)]
    assert figures == {
        "kindling": [51.0],
        "snapshot": [21.0],
        "kindling_no_worker": [50.0],
        "snapshot_no_worker": [20.0],
    }


def test_the_report_gives_each_shape_its_ratio_and_its_goal(tmp_path, capsys):
    figures = {
        "kindling": [54.0, 50.0, 55.0],
        "snapshot": [27.0, 28.0, 26.0],
        "kindling_no_worker": [68.0],
        "snapshot_no_worker": [17.0],
        "snapshot_images_gb_no_worker": [2.5],
    }
    out = tmp_path / "figures.json"
    bench_main.report("k8s-1-34-0", "1.34.0", True, figures, out)
    printed = capsys.readouterr().out
    assert "| kindling: up from the snapshot to Ready + DNS (1+1 nodes) | 27.0 s (26.0-28.0) |" in printed
    assert "| kindling: up from the snapshot to Ready + DNS (1 control plane, no worker) | 17.0 s |" in printed
    assert "1+1 nodes: snapshot up/up = 0.50 (goal <= 0.3); snapshot up 27.0 s (26.0-28.0) (goal <= 20 s)" in printed
    assert "1 control plane: snapshot up/up = 0.25 (goal <= 0.3); snapshot up 17.0 s (goal <= 15 s)" in printed
    assert "1 control plane: snapshot size, images: 2.50 GB" in printed
    assert json.loads(out.read_text())["figures"] == figures


def test_a_restores_own_credentials_cost_what_they_held_it_after_its_boot():
    # Keys done 1.5 s after the container started, its boot done at 1.2 s: 0.3 s held the kubelet.
    made_in, past_boot = snapshots.identity_seconds(100.0, 101.2, [100.4, 101.5, 100.9])
    assert (round(made_in, 3), round(past_boot, 3)) == (1.5, 0.3)
    # Done before the boot: they held nothing.
    assert snapshots.identity_seconds(100.0, 101.2, [100.8, 101.1])[1] == 0.0


class Ran:
    def __init__(self, stdout: str, returncode: int = 0):
        self.stdout, self.returncode = stdout, returncode


def fake_node(monkeypatch, looked: Ran, started_at: str = "2026-12-05T02:00:10.250000123Z"):
    """The restored node as docker answers for it; the host's clocks at 02:00:30 (epoch) and 5000 s (monotonic)."""
    asked = []

    def run(command, **_):
        asked.append(command)
        return Ran(started_at + "\n") if command[1] == "inspect" else looked

    monkeypatch.setattr(snapshots.subprocess, "run", run)
    monkeypatch.setattr(snapshots.time, "time", lambda: 1796436030.0)
    monkeypatch.setattr(snapshots.time, "monotonic", lambda: 5000.0)
    return asked


def test_the_identity_is_read_from_the_node_against_its_containers_start(monkeypatch):
    # 2026-12-05T02:00:10.25Z is 1796436010.25; the boot finished at monotonic 4981.5 s, 18.5 s before
    # the host's 02:00:30, so at 02:00:11.5 (1.25 s in); the last key at 02:00:11.85 (1.6 s in).
    asked = fake_node(monkeypatch, Ran("4981500000\n1796436011.100000000\n1796436011.850000000\n"))
    made_in, past_boot = snapshots.identity_cost("r-control-plane")
    assert (round(made_in, 3), round(past_boot, 3)) == (1.6, 0.35)
    assert asked[1][:3] == ["docker", "exec", "r-control-plane"]


def test_no_identity_figure_from_a_node_that_has_not_booted_or_cannot_be_asked(monkeypatch):
    fake_node(monkeypatch, Ran("0\n1796436011.1\n"))
    assert snapshots.identity_cost("r-control-plane") is None
    fake_node(monkeypatch, Ran("", returncode=1))
    assert snapshots.identity_cost("r-control-plane") is None


def test_each_restore_that_comes_up_adds_its_identity_figures(monkeypatch, tmp_path):
    class Snapshot:
        size_bytes, nodes = 10**9, []

    class Up:
        def __init__(self):
            self.creates = 0

        def create(self):
            self.creates += 1
            # The first restore (the up after the first normal one) fails.
            return self.creates != 2

        def destroy(self):
            return True

    monkeypatch.setattr(snapshots.subprocess, "run", lambda *a, **k: Ran("", 0))
    monkeypatch.setattr(snapshots, "list_snapshots", lambda: {"bench-b": Snapshot()})
    monkeypatch.setattr(snapshots, "set_config", lambda *a, **k: None)
    costs = iter([(1.6, 0.4), (1.4, 0.0)])
    monkeypatch.setattr(snapshots, "identity_cost", lambda node: next(costs))
    figures = snapshots.measure("b", tmp_path, Up(), 3, lambda: True, lambda _: None)
    assert len(figures["snapshot"]) == 2
    assert figures["identity"] == [1.6, 1.4]
    assert figures["identity_past_boot"] == [0.4, 0.0]
