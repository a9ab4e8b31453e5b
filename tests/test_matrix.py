"""make matrix: the README's compatibility table is generated from tests/e2e/matrix.json, never typed."""

import json

from tests.e2e import matrix
from tests.support import ROOT


def row(stack, release, failed=0, first=None, control_planes=1):
    return {
        "stack": stack,
        "release": release,
        "controlPlanes": control_planes,
        "date": "2026-12-03",
        "engine": "pulumi",
        "nodeSecurity": "capabilities",
        "components": {"containerd": "1.4.0", "runc": "1.0.0-rc92"},
        "bundle": {"firstBuildCompileSeconds": 995, "warmSeconds": 43},
        "passed": 29 - failed,
        "failed": failed,
        "firstFailure": first,
        "timings": {"up": 116},
    }


def test_the_readme_table_is_the_one_generated_from_the_results_file():
    readme = (ROOT / "README.md").read_text()
    generated = "\n".join(matrix.table(matrix.load()))
    assert f"{matrix.BEGIN}\n{generated}\n{matrix.END}" in readme


def test_every_catalog_release_has_a_row_and_a_failure_is_named():
    results = {
        "k8s-1-19-1": row("k8s-1-19-1", "1.19.1"),
        "k8s-1-24-0": row("k8s-1-24-0", "1.24.0", failed=2, first="every node Ready: node-1 NotReady | kubelet"),
        "k8s-1-34-0 --control-planes 3": row("k8s-1-34-0", "1.34.0", control_planes=3),
    }
    lines = matrix.table(results)
    body = lines[2:]
    assert len(body) == len(matrix.catalog_stacks()) + 1, "one row per release, plus the several-control-plane run"
    by_release = {}
    for line in body:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        by_release.setdefault(cells[0], []).append(cells)
    assert by_release["1.19.1"][0][3:8] == ["16 min 35 s", "43 s", "1 min 56 s", "29 passed, 0 failed", "all passed"]
    assert by_release["1.24.0"][0][7] == "FAILED: every node Ready: node-1 NotReady / kubelet"
    assert [(cells[1], cells[7]) for cells in by_release["1.34.0"]] == [("1", "not run yet"), ("3", "all passed")]
    assert by_release["1.18.2"][0][7] == "not run yet"


def test_a_run_replaces_only_its_own_row(tmp_path, monkeypatch):
    results = tmp_path / "matrix.json"
    results.write_text(json.dumps({"k8s-1-19-1": row("k8s-1-19-1", "1.19.1")}))
    monkeypatch.setattr(matrix, "RESULTS", results)
    loaded = matrix.load()
    loaded["k8s-1-34-0"] = row("k8s-1-34-0", "1.34.0", failed=1, first="up: see log")
    matrix.save(loaded)
    saved = json.loads(results.read_text())
    assert list(saved) == ["k8s-1-19-1", "k8s-1-34-0"] and saved["k8s-1-19-1"]["failed"] == 0
