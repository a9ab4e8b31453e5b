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
