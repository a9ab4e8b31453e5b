"""make conformance: which tests a run chooses, how it tells ginkgo, and how it reads what happened.

Everything here is pure: no Docker, no Go, no cluster (the real run is `make conformance`)."""

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from conformance import results, skips
from conformance.run import cluster_name, focus_on, ginkgo_command, phases, run_suite
from conformance.suite import Suite, bindata_arguments, ginkgo_runner
from tests.e2e import checks
from tests.support import stack_names

PARALLEL = "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]"
SERIAL = "[sig-scheduling] SchedulerPredicates [Serial] validates resource limits of pods [Conformance]"
DISRUPTIVE = "[sig-apps] Daemon set [Serial] should rollback without unnecessary restarts [Disruptive] [Conformance]"
DNS = "[sig-network] DNS should provide DNS for the cluster  [Conformance]"


def write_list(tree: Path, names: list[str]) -> None:
    listed = tree / results.CONFORMANCE_LIST
    listed.parent.mkdir(parents=True)
    listed.write_text(yaml.safe_dump([{"testname": f"t{i}", "codename": name} for i, name in enumerate(names)]))


def junit(path: Path, cases: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0"?>\n<testsuite name="Kubernetes e2e suite">{cases}</testsuite>\n')


def test_the_default_set_leaves_out_serial_and_disruptive_tests_and_serial_adds_them(tmp_path):
    write_list(tmp_path, [PARALLEL, SERIAL, DISRUPTIVE, DNS])
    tests = results.conformance_tests(tmp_path)
    assert results.chosen(tests) == [PARALLEL, DNS]
    assert results.chosen(tests, serial=True) == [PARALLEL, SERIAL, DISRUPTIVE, DNS]
    assert results.chosen(tests, serial=True, focus=r"\[sig-network\]|Daemon") == [DISRUPTIVE, DNS]


def test_the_release_list_of_1_19_1_has_286_tests_in_the_default_set():
    """From the module zip, when this machine has it. 19 of its 305 tests are [Serial] or [Disruptive]:
    one ("EmptyDir wrapper volumes ... [Serial] [Conformance]") has the tag on a folded line of its own."""
    tree = Path.home() / "go/pkg/mod/k8s.io/kubernetes@v1.19.1"
    if not (tree / results.CONFORMANCE_LIST).is_file():
        pytest.skip("k8s.io/kubernetes v1.19.1 is not in the module cache")
    tests = results.conformance_tests(tree)
    assert (len(tests), len(results.chosen(tests)), len(results.chosen(tests, serial=True))) == (305, 286, 305)


def test_the_focus_matches_exactly_the_named_tests_as_a_go_regular_expression():
    names = [DNS, "[k8s.io] Probing container with readiness probe (a+b) should work [Conformance]"]
    focus = focus_on(names)
    assert re.fullmatch(focus, names[1]) and re.search(focus, f"extra {DNS}")
    assert re.search(focus, DNS.replace("  ", " ")), "spaces in a name are matched loosely"
    assert not re.search(focus, "[k8s.io] Probing container with readiness probe aab should work [Conformance]")
    assert skips.go_quote("a.b$[x]") == r"a\.b\$\[x\]"


def test_serial_tests_run_after_the_parallel_ones_in_one_process():
    assert phases([PARALLEL, SERIAL, DNS, DISRUPTIVE], 4) == [
        ("parallel", [PARALLEL, DNS], 4),
        ("serial", [SERIAL, DISRUPTIVE], 1),
    ]
    assert phases([PARALLEL], 2) == [("parallel", [PARALLEL], 2)]


def test_the_suite_log_gets_ginkgo_dots_as_they_come_not_at_the_next_line_break(tmp_path, capsys):
    log, seen = tmp_path / "parallel.log", tmp_path / "seen"
    # The command reads the log while it runs: the dots it printed, with no line break yet, are in it.
    command = ["/bin/sh", "-c", f"printf '\u2022\u2022'; sleep 0.5; cat {log} > {seen}; printf '\\nok\\n'; exit 3"]
    assert run_suite(command, {"PATH": "/usr/bin:/bin"}, log) == 3
    assert seen.read_text() == "\u2022\u2022"
    assert log.read_text() == capsys.readouterr().out == "\u2022\u2022\nok\n"


@pytest.mark.parametrize("stack", stack_names())
def test_the_cluster_has_a_name_of_its_own_that_can_name_a_cluster(stack):
    # Beside the stack's own cluster (make up, make e2e): nodes, network and images are named after it.
    assert cluster_name(stack) == f"conf-{stack}"
    assert checks.cluster_name(cluster_name(stack)) == f"conf-{stack}"


@pytest.mark.parametrize("major, runner_flags", [(1, ["-nodes=3", "-noColor"]), (2, ["--procs=3", "--no-color"])])
def test_ginkgo_gets_its_own_flags_and_e2e_test_the_cluster(tmp_path, major, runner_flags):
    suite = Suite("1.19.1", tmp_path / "e2e.test", tmp_path / "ginkgo", major, tmp_path / "src", None)
    command = ginkgo_command(suite, "x", 3, tmp_path / "junit", tmp_path / "kubeconfig", tmp_path / "kubectl")
    separator = command.index("--")
    assert command[0] == str(tmp_path / "ginkgo") and command[separator - 1] == str(tmp_path / "e2e.test")
    assert set(runner_flags) <= set(command[:separator])
    assert {f"--kubeconfig={tmp_path / 'kubeconfig'}", "--provider=skeleton", "--num-nodes=2"} <= set(
        command[separator:]
    )
    assert f"--report-dir={tmp_path / 'junit'}" in command and f"--kubectl-path={tmp_path / 'kubectl'}" in command


def test_junit_cases_are_read_by_name_and_the_gravest_state_wins(tmp_path):
    junit(
        tmp_path / "parallel" / "junit_01.xml",
        f'<testcase name="{PARALLEL}" time="3"></testcase>'
        f'<testcase name="{DNS}"><failure message="timed out">dig said nothing\nmore</failure></testcase>',
    )
    junit(
        tmp_path / "parallel" / "junit_02.xml",
        f'<testcase name="{PARALLEL}"><skipped></skipped></testcase><testcase name="{DNS}"></testcase>',
    )
    junit(tmp_path / "serial" / "junit_01.xml", f'<testcase name="[It] {SERIAL}"></testcase>')
    cases = results.read_junit(tmp_path)
    assert cases[PARALLEL].state == results.PASSED
    dns = results.normalized(DNS)  # "cluster  [Conformance]": two spaces, as the release names it
    assert cases[dns] == results.Case(dns, results.FAILED, "timed out")
    assert cases[SERIAL].state == results.PASSED  # ginkgo 2 names it "[It] <name>"


def test_the_summary_counts_every_chosen_test_once_and_never_hides_one_that_did_not_run():
    found = [
        results.Case(PARALLEL, results.PASSED),
        results.Case(results.normalized(DNS), results.FAILED, "line 1\nline 2\nline 3\nline 4"),
        results.Case(SERIAL, results.SKIPPED, "Only supported for providers [gce]"),
    ]
    cases = {case.name: case for case in found}
    skipped = {DISRUPTIVE: "needs the internet"}
    extra = "[sig-apps] Job should run a job to completion [Conformance]"
    summary = results.summarize([PARALLEL, DNS, SERIAL, DISRUPTIVE, extra], cases, skipped)
    assert summary.passed == [PARALLEL]
    assert summary.failed == {DNS: "line 1 / line 2 / line 3", extra: "not run: the JUnit XML does not report it"}
    assert summary.skipped == {
        SERIAL: "skipped by the test: Only supported for providers [gce]",
        DISRUPTIVE: "needs the internet",
    }
    assert summary.line() == "1 passed, 2 failed"


def test_a_test_ginkgo_skipped_silently_is_a_failure():
    cases = {PARALLEL: results.Case(PARALLEL, results.SKIPPED)}
    assert PARALLEL in results.summarize([PARALLEL], cases, {}).failed


def test_the_skip_list_names_whole_tests_of_known_releases_with_a_reason():
    from kindling.catalog import known_releases

    for skip in skips.SKIPPED:
        assert skip.reason.strip() and "[Conformance]" in skip.name, skip
        assert set(skip.releases) <= set(known_releases()), skip
    entry = skips.Skip(("1.19.1",), DNS, "why")
    assert skips.skipped_for("1.19.1", (entry,)) == (entry,) and skips.skipped_for("1.34.0", (entry,)) == ()
    assert re.search(skips.skip_pattern((entry,)), DNS)


def test_ginkgo_is_built_at_the_major_version_the_release_pins():
    assert ginkgo_runner("require (\n\tgithub.com/onsi/ginkgo v1.11.0\n)\n") == ("github.com/onsi/ginkgo/ginkgo", 1)
    v2 = "require (\n\tgithub.com/onsi/ginkgo/v2 v2.21.0\n\tgithub.com/onsi/gomega v1.35.1\n)\n"
    assert ginkgo_runner(v2) == ("github.com/onsi/ginkgo/v2/ginkgo", 2)
    with pytest.raises(ValueError, match="ginkgo"):
        ginkgo_runner("module k8s.io/kubernetes\n")


def test_bindata_is_generated_with_the_arguments_of_the_release_script():
    script = textwrap.dedent(
        """\
        BINDATA_OUTPUT="test/e2e/generated/bindata.go"
        # IMPORTANT: keep in step
        go-bindata -nometadata -o "${BINDATA_OUTPUT}.tmp" -pkg generated \\
        \t-ignore .jpg -ignore 'BUILD(\\.bazel)?' \\
        \t"test/conformance/testdata/..." \\
        \t"test/e2e/testing-manifests/..."

        gofmt -s -w "${BINDATA_OUTPUT}.tmp"
        BINDATA_OUTPUT="staging/src/k8s.io/kubectl/pkg/generated/bindata.go"
        go-bindata -nometadata -nocompress -o "${BINDATA_OUTPUT}.tmp" -pkg generated "translations/..."
        """
    )
    assert bindata_arguments(script) == [
        "-nometadata",
        "-o",
        "test/e2e/generated/bindata.go",
        "-pkg",
        "generated",
        "-ignore",
        ".jpg",
        "-ignore",
        r"BUILD(\.bazel)?",
        "test/conformance/testdata/...",
        "test/e2e/testing-manifests/...",
    ]
    with pytest.raises(ValueError, match="does not generate"):
        bindata_arguments("go-bindata -o x.go")
