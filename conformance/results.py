"""Which conformance tests a run chose, and what the JUnit XML says became of each.

The chosen set comes from the release's own list, ``test/conformance/testdata/conformance.yaml``
(the default: every test but ``[Serial]`` and ``[Disruptive]`` ones; ``--serial``: all of them;
``--focus``: those matching it). A chosen test that the JUnit XML does not report as run is
counted as failed (``not run``): a suite that stopped early must not look green.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SERIAL = re.compile(r"\[(Serial|Disruptive)\]")
CONFORMANCE_LIST = Path("test/conformance/testdata/conformance.yaml")
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
_RANK = {FAILED: 3, PASSED: 2, SKIPPED: 1}


def conformance_tests(tree: Path) -> list[str]:
    """Every conformance test of the release, by its full name."""
    listed = yaml.safe_load((tree / CONFORMANCE_LIST).read_text())
    return [entry["codename"] for entry in listed]


def chosen(tests: list[str], serial: bool = False, focus: str | None = None) -> list[str]:
    """The tests a run asks for: without [Serial]/[Disruptive] unless ``serial``, and matching ``focus``."""
    picked = [name for name in tests if serial or not SERIAL.search(name)]
    if focus:
        pattern = re.compile(focus)
        picked = [name for name in picked if pattern.search(name)]
    return picked


def normalized(name: str) -> str:
    """A test's name, to compare a JUnit test case with conformance.yaml: ginkgo 2 puts ``[It] `` before
    it, and some names hold two spaces in a row, which a YAML line break may fold."""
    return re.sub(r"\s+", " ", name.removeprefix("[It] ")).strip()


@dataclass(frozen=True)
class Case:
    name: str
    state: str
    message: str = ""


def read_junit(report_dir: Path) -> dict[str, Case]:
    """Every test case of the JUnit files in ``report_dir``, by name; a test reported by several parallel
    processes keeps its gravest state (failed, then passed, then skipped)."""
    cases: dict[str, Case] = {}
    for path in sorted(report_dir.rglob("junit*.xml")):
        for element in ElementTree.parse(path).getroot().iter("testcase"):
            name = normalized(element.get("name", ""))
            problem = element.find("failure")
            if problem is None:
                problem = element.find("error")
            if problem is not None:
                text = problem.get("message") or problem.text or ""
                case = Case(name, FAILED, text.strip())
            elif element.find("skipped") is not None:
                skipped = element.find("skipped")
                case = Case(name, SKIPPED, (skipped.get("message") or skipped.text or "").strip())
            else:
                case = Case(name, PASSED)
            if name not in cases or _RANK[case.state] > _RANK[cases[name].state]:
                cases[name] = case
    return cases


@dataclass
class Summary:
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # name -> the first lines of why
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why

    def line(self) -> str:
        return f"{len(self.passed)} passed, {len(self.failed)} failed"

    def as_json(self) -> dict:
        return {
            "passed": len(self.passed),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "failures": self.failed,
            "skips": self.skipped,
            "passedTests": self.passed,
        }


def summarize(wanted: list[str], cases: dict[str, Case], skipped_by_list: dict[str, str]) -> Summary:
    """What became of every chosen test: passed, failed (or never run), or skipped (by the list, with its
    reason, or by the test itself, which says why)."""
    summary = Summary()
    for name in wanted:
        if name in skipped_by_list:
            summary.skipped[name] = skipped_by_list[name]
            continue
        case = cases.get(normalized(name))
        if case is None:
            summary.failed[name] = "not run: the JUnit XML does not report it"
        elif case.state == PASSED:
            summary.passed.append(name)
        elif case.state == FAILED:
            summary.failed[name] = _first_lines(case.message)
        elif case.message:
            summary.skipped[name] = f"skipped by the test: {_first_lines(case.message)}"
        else:
            summary.failed[name] = "not run: ginkgo skipped it (an earlier failure in its process, or a timeout)"
    return summary


def _first_lines(text: str, count: int = 3) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[:count] if line.strip())
