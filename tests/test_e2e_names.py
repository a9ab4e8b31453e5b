"""make e2e beside your own clusters: it refuses a name already on the engine, and runs under another."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.e2e import checks, run
from tests.support import commands_first_on_path, release_bundle

# A Docker CLI that knows one cluster, k8s-1-19-1: two node containers, its network, and one
# anonymous volume; it logs every call so that a test can see nothing else was asked of it.
FAKE_DOCKER = textwrap.dedent(
    """\
    #!{python}
    import os, sys
    args = sys.argv[1:]
    with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
        log.write(" ".join(args) + "\\n")
    joined = " ".join(args)
    mine = "kindling.cluster=k8s-1-19-1" in joined
    if args[:2] == ["ps", "-a"] and "--format" in args:
        print("k8s-1-19-1-control-plane\\nk8s-1-19-1-worker-1" if mine else "")
    elif args[:2] == ["ps", "-aq"]:
        print("c1\\nc2" if mine else "")
    elif args[:2] == ["network", "ls"]:
        print("n1" if "name=^k8s-1-19-1$" in joined else "")
    elif args[0] == "inspect":
        print("volume v-var\\nbind \\nvolume v-var")
    elif args[0] == "run":
        sys.exit(0)
    """
)


@pytest.fixture
def docker_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "docker.log"
    log.touch()
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    commands_first_on_path(monkeypatch, tmp_path / "bin", {"docker": FAKE_DOCKER.format(python=sys.executable)})
    return log


def test_a_cluster_already_on_the_engine_is_named_in_words(docker_log: Path) -> None:
    found = checks.cluster_on_engine("k8s-1-19-1")
    assert found == "containers k8s-1-19-1-control-plane, k8s-1-19-1-worker-1; network k8s-1-19-1"
    assert checks.cluster_on_engine("ci-k8s-1-19-1") == ""


def test_the_volumes_of_a_cluster_are_those_its_containers_mount(docker_log: Path) -> None:
    assert checks.cluster_volumes("k8s-1-19-1") == ["v-var"]
    assert checks.cluster_volumes("ci-k8s-1-19-1") == []


def test_e2e_refuses_a_taken_name_before_building_or_creating_anything(
    docker_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_bundle(release: str):
        raise AssertionError(f"no bundle may be built once the name is taken: {release}")

    monkeypatch.setattr(run, "default_out", no_bundle)
    report_file = tmp_path / "report.json"

    assert run.main(["k8s-1-19-1", "--report", str(report_file)]) == 1

    report = json.loads(report_file.read_text())
    assert report["failedChecks"] == ["cluster name free"]
    assert "k8s-1-19-1-control-plane" in report["firstFailure"]
    assert "--name" in report["firstFailure"]
    calls = docker_log.read_text().splitlines()
    assert all(call.split()[0] in ("ps", "network") for call in calls), calls  # never rm, never create


def test_a_bad_name_is_refused_with_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run.main(["k8s-1-19-1", "--name", "Ci_1"])
    assert "lowercase letters, digits and '-'" in capsys.readouterr().err


def test_a_run_under_another_name_gives_its_stack_the_stack_configuration(docker_log: Path, tmp_path: Path) -> None:
    bundle = release_bundle(tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    config, _ = run.prepare("k8s-1-19-1", bundle, work, name="ci-k8s-1-19-1")

    renamed = yaml.safe_load((work / "stacks" / "Pulumi.ci-k8s-1-19-1.yaml").read_text())["config"]
    assert renamed == config
    assert str(renamed["kindling:kubernetesVersion"]) == "1.19.1"
    assert renamed["kindling:workers"] == 1
    assert not (work / "stacks" / "Pulumi.k8s-1-19-1.yaml").exists()  # one cluster per run


# The engine after a stack's destroy: two records the stack recorded as its own are still there, one
# held by an image of another stack that built in the same minutes (Shared), one held by nothing.
AFTER_DESTROY_DOCKER = textwrap.dedent(
    """\
    #!{python}
    import sys
    if sys.argv[1:3] == ["system", "df"]:
        print("held-by-another-image true\\nleft-behind false\\nnot-ours false")
    """
)


def test_residue_counts_a_recorded_build_cache_record_only_when_no_image_holds_it(tmp_path, monkeypatch):
    # A home of its own: the user's may hold a running k8s-1-19-1's staged build context.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    docker = AFTER_DESTROY_DOCKER.format(python=sys.executable)
    commands_first_on_path(monkeypatch, tmp_path / "bin", {"docker": docker})
    report = checks.Report()
    checks.residue(report, "k8s-1-19-1", tmp_path, ["held-by-another-image", "left-behind"], volumes=[])
    assert report.failed == ["no build cache left"]
    assert report.failures["no build cache left"] == "1 build cache records: ['left-behind']"
    assert "no container left" in report.passed and "no node image left" in report.passed
