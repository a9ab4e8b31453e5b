"""make bundle RELEASE=1.19.1: build a catalog release from Go modules, offline.

python -m bundle plan 1.19.1               what would be built, from where, with which fixes, and what cannot be
python -m bundle build 1.19.1 [--out DIR]  build it (default DIR: ~/.cache/kindling/bundles/<release>)
python -m bundle apply 1.19.1 --stack S    point stacks/Pulumi.S.yaml at the built bundle
python -m bundle table                     the README's table of what each catalog release bundles
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from bundle.build import Progress, build_bundle
from bundle.errors import BuildError
from bundle.fragment import apply_fragment
from bundle.plan import Plan, plan_release
from bundle.workspace import Workspace, default_cache
from kindling import catalog
from kindling.sources import LOCAL_GO

ROOT = Path(__file__).resolve().parent.parent


def default_out(release: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kindling" / "bundles"
    return base / release


def builder_go(go: str) -> str:
    return "this machine's Go" if go == LOCAL_GO else f"go{go}"


def _fixes_by_reason(source) -> list[tuple[str, list[str]]]:
    """One line per reason, so a fix made of many replaces (a set of staging modules) reads as one."""
    grouped: dict[str, list[str]] = {}
    for fix in source.fixes:
        grouped.setdefault(fix.why, []).append(fix.replace or fix.ldflag)
    return list(grouped.items())


def describe(plan: Plan) -> list[str]:
    lines = [f"Kubernetes {plan.release}: {'buildable' if plan.buildable else 'NOT buildable'}"]
    for step in plan.steps:
        source = step.source
        if source:
            lines.append(
                f"  {step.label:<24} {source.module}@{source.version}  "
                f"{builder_go(source.go)} (upstream: go{source.upstream_go})"
            )
            lines += [f"  {'':<24}   fix: {'; '.join(changes)} ({why})" for why, changes in _fixes_by_reason(source)]
        else:
            lines.append(f"  {step.label:<24} k8s.io/kubernetes@{step.pause_tree} build/pause  gcc")
    for gap in plan.missing:
        instead = f"; instead: {gap.instead}" if gap.instead else ""
        lines.append(
            f"  {'missing' if not gap.instead else 'replaced'}: {gap.component} {gap.version}: {gap.reason}{instead}"
        )
    return lines


def table_rows() -> list[dict[str, str]]:
    """Per catalog release: whether its bundle builds, what it replaces or leaves out, what is missing."""
    rows = []
    for release in catalog.known_releases():
        plan = plan_release(release)
        rows.append(
            {
                "release": release,
                "bundle": "builds" if plan.buildable else "no",
                "replaced or left out": "; ".join(f"{m.component} {m.version}" for m in plan.substitutions) or "-",
                "missing": "; ".join(f"{m.component} {m.version}" for m in plan.missing if not m.instead) or "-",
            }
        )
    return rows


def table() -> list[str]:
    rows = table_rows()
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return lines + ["| " + " | ".join(row.values()) + " |" for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bundle", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "build", "apply"):
        command = commands.add_parser(name)
        command.add_argument("release", help="a catalog release, e.g. 1.19.1")
        if name in ("build", "apply"):
            command.add_argument("--out" if name == "build" else "--bundle", type=Path, dest="out")
        if name == "apply":
            command.add_argument("--stack", required=True, help="stack name, e.g. k8s-1-19-1")
    commands.add_parser("table")
    args = parser.parse_args(argv)

    if args.command == "table":
        print("\n".join(table()))
        return 0
    try:
        plan = plan_release(args.release.removeprefix("v"))
    except (LookupError, ValueError) as problem:
        print(f"bundle: {problem}", file=sys.stderr)
        return 2
    if args.command == "plan":
        print("\n".join(describe(plan)))
        return 0 if plan.buildable else 1
    out = args.out or default_out(plan.release)
    if args.command == "apply":
        fragment_file = out / "stack-config.yaml"
        if not fragment_file.is_file():
            print(f"bundle: no bundle in {out}; run make bundle RELEASE={plan.release} first", file=sys.stderr)
            return 1
        stack_file = ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
        try:
            apply_fragment(stack_file, yaml.safe_load(fragment_file.read_text()))
        except ValueError as problem:
            print(f"bundle: {problem}", file=sys.stderr)
            return 1
        print(f"bundle: {stack_file.relative_to(ROOT)} now uses the bundle in {out}")
        return 0
    try:
        build_bundle(plan, out, Workspace(default_cache()), Progress())
    except BuildError as failure:
        print(f"bundle: {failure.what} failed:", file=sys.stderr)
        for line in failure.details:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
