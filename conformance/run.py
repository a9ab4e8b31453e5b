"""make conformance STACK=k8s-1-19-1: the release's conformance suite against a kindling cluster.

    python -m conformance STACK [--serial] [--focus REGEX] [--nodes N] [--name NAME] [--keep] [--executor]

1. Builds (or reuses) the release's e2e.test and ginkgo from the module its bundle is built
   from, with the same Go (conformance/suite.py), and every image the conformance tests run,
   under the names the suite asks for (conformance/images.py).
2. Checks the release's bundle as make e2e does (bundle build: nothing rebuilt when it is current,
   its images back in Docker when something removed them), and brings the stack up from it
   through tests/e2e/run.py, as a cluster of its own name (conf-STACK unless --name says
   otherwise, so that it runs beside the stack's own cluster), with two workers and the test
   images preloaded into the nodes. It refuses a name a cluster on the engine already has.
3. Runs the chosen tests with ginkgo: by default every conformance test of the release's list
   but [Serial] and [Disruptive] ones, in parallel (--nodes, default one process per core);
   --serial adds those, run afterwards in one process; --focus narrows. Tests of
   conformance/skips.py are skipped by name.
4. Writes the JUnit XML, the suite's log and a summary under ~/.cache/kindling/conformance/
   <release>/runs/, tears the cluster down, and ends with one line, "N passed, M failed"
   (the line before it counts the skipped ones).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bundle.__main__ import default_out
from bundle.errors import BuildError
from conformance import results
from conformance.images import Context, build_images, listed_images
from conformance.paths import release_dir
from conformance.skips import go_quote, skipped_for
from conformance.suite import Suite, build_suite
from tests.e2e import checks
from tests.e2e.bringup import Bringup, set_config
from tests.e2e.run import prepare, real_engine_plugins, toolchain_env

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2  # kind's CI shape: one control plane and two workers


def cluster_name(stack: str) -> str:
    """The conformance cluster's default name: its own, beside the stack's (e.g. conf-k8s-1-34-0)."""
    return f"conf-{stack}"


def say(message: str) -> None:
    print(f"conformance: {message}", flush=True)


def ginkgo_command(suite: Suite, focus: str, nodes: int, report_dir: Path, kubeconfig: Path, kubectl: Path) -> list:
    """ginkgo running e2e.test on ``nodes`` parallel processes, for the tests ``focus`` matches."""
    if suite.ginkgo_major == 1:
        runner = [str(suite.ginkgo), f"-nodes={nodes}", "-noColor", "-timeout=24h", f"-focus={focus}"]
    else:
        runner = [
            str(suite.ginkgo),
            f"--procs={nodes}",
            "--no-color",
            "--silence-skips",
            "--timeout=24h",
            f"--focus={focus}",
        ]
    e2e_flags = [
        f"--kubeconfig={kubeconfig}",
        "--provider=skeleton",
        f"--num-nodes={WORKERS}",
        f"--report-dir={report_dir}",
        f"--kubectl-path={kubectl}",
        f"--repo-root={suite.tree}",
        "--disable-log-dump=true",
    ]
    return [*runner, str(suite.e2e_test), "--", *e2e_flags]


def focus_on(names: list[str]) -> str:
    """A focus that matches exactly these tests, by name (any run of spaces as any run of spaces)."""
    return "|".join(re.sub(r"\s+", r"\\s+", go_quote(name)) for name in names)


def phases(names: list[str], nodes: int) -> list[tuple[str, list[str], int]]:
    """The tests in parallel on ``nodes`` processes, then the [Serial] and [Disruptive] ones on one,
    alone on the cluster, as they must run."""
    parallel = [name for name in names if not results.SERIAL.search(name)]
    serial = [name for name in names if results.SERIAL.search(name)]
    planned = [("parallel", parallel, nodes), ("serial", serial, 1)]
    return [(phase, tests, count) for phase, tests, count in planned if tests]


def run_suite(command: list[str], env: dict, log: Path) -> int:
    """Run ginkgo, its output both on the terminal and in ``log`` as it comes: ginkgo prints a dot per
    passed test with no line break, so a run that only passes would otherwise show nothing for an hour."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while chunk := os.read(process.stdout.fileno(), 65536):
            sink.write(chunk)
            sink.flush()
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        return process.wait()


def cluster_ready(control_plane: str, nodes: int) -> str:
    """Empty when every node is Ready and every kube-system and kube-flannel pod runs; else what is not."""
    if not checks.waited(lambda: checks.all_ready(control_plane, nodes)):
        return f"nodes not Ready: {checks.node_states(control_plane)}"
    for namespace in ("kube-system", "kube-flannel"):
        running = checks.waited(
            lambda ns=namespace: not checks.not_ready(checks.pods(control_plane, ns)) and checks.pods(control_plane, ns)
        )
        if not running:
            return f"{namespace} pods not running: {checks.not_ready(checks.pods(control_plane, namespace))}"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n")[0])
    parser.add_argument("stack")
    parser.add_argument("--serial", action="store_true", help="add the [Serial] and [Disruptive] tests")
    parser.add_argument("--focus", metavar="REGEX", help="only the conformance tests whose names match")
    parser.add_argument("--nodes", type=int, default=os.cpu_count() or 2, help="parallel ginkgo processes")
    parser.add_argument(
        "--name", type=checks.cluster_name, help="the cluster's name (default: conf-STACK, beside the stack's own)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the cluster up (tests/e2e/run.py --destroy)")
    parser.add_argument("--executor", action="store_true", help="the e2e executor even where the plugins exist")
    args = parser.parse_args(argv)
    stack = args.stack
    stack_file = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        say(f"no stack file {stack_file.relative_to(ROOT)}")
        return 2
    release = str(yaml.safe_load(stack_file.read_text())["config"]["kindling:kubernetesVersion"])
    name = args.name or cluster_name(stack)
    taken = checks.cluster_on_engine(name)
    if taken:
        # Someone else's cluster, or one a kept run left: neither run beside it nor tear it down.
        say(
            f"a cluster named {name} is already on this Docker engine ({taken}); tear it down or run "
            f"under another name: make conformance STACK={stack} ARGS='--name {name}-2'"
        )
        return 2
    started = time.monotonic()
    bundle = default_out(release)
    say(f"bundle for Kubernetes {release}: {bundle} (bundle build, as make e2e does)")
    checked = subprocess.run([sys.executable, "-m", "bundle", "build", release, "--out", str(bundle)], cwd=ROOT)
    if checked.returncode != 0:
        say(f"make bundle RELEASE={release} failed")
        print("0 passed, 1 failed")
        return 1
    timings: dict[str, float] = {"bundle": time.monotonic() - started}
    summary = results.Summary()
    run_dir = release_dir(release) / "runs" / f"{stack}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    report_dir = run_dir / "junit"
    report_dir.mkdir(parents=True)
    try:
        suite = build_suite(release, say)
        wanted = results.chosen(results.conformance_tests(suite.tree), args.serial, args.focus)
        skipped = {skip.name: skip.reason for skip in skipped_for(release) if skip.name in wanted}
        to_run = [test for test in wanted if test not in skipped]
        say(f"{len(wanted)} conformance tests chosen, {len(skipped)} of them skipped by name (conformance/skips.py)")
        if not to_run:
            say("no test to run: the focus matches no conformance test of this release")
            return 2
        manifest = json.loads((bundle / "manifest.json").read_text())
        context = Context(
            suite,
            manifest["baseImage"],
            tuple(image["reference"] for image in manifest["images"]),
            tuple(listed_images(suite)),
            release_dir(release) / "image-binaries",
            run_dir / "images.log",
        )
        built = build_images(context, say)
        left_out = sorted(set(context.listed) - set(built))
        say(f"{len(built)} images built; not built (no conformance test runs them): {', '.join(left_out)}")
        (run_dir / "images.json").write_text(json.dumps({"built": built, "notBuilt": left_out}, indent=2) + "\n")
        timings["build"] = time.monotonic() - started - timings["bundle"]
    except BuildError as failure:
        say(f"{failure.what} failed:\n  " + "\n  ".join(failure.details))
        print("0 passed, 1 failed")
        return 1

    env = toolchain_env()
    work = Path(tempfile.mkdtemp(prefix=f"kindling-conformance-{stack}-"))
    env.update(PULUMI_BACKEND_URL=f"file://{work}/.state", PULUMI_CONFIG_PASSPHRASE=f"conformance-{os.getpid()}")
    (work / ".state").mkdir(parents=True)
    config, _ = prepare(stack, bundle, work, workers=WORKERS, chart=False, name=name)
    preload = list(dict.fromkeys([*config["kindling:preloadImages"], *built]))
    set_config(work, name, preloadImages=preload)
    engine = real_engine_plugins(env) and not args.executor
    # What tests/e2e/run.py --destroy needs to tear a kept cluster down.
    (work / "e2e-run.json").write_text(
        json.dumps({"name": name, "engine": engine, "passphrase": env["PULUMI_CONFIG_PASSPHRASE"]})
    )
    say(
        f"cluster {name}: 1 control plane + {WORKERS} workers, "
        f"{'the real engine' if engine else 'the e2e executor'}, "
        f"nodeSecurity {config.get('kindling:nodeSecurity', 'privileged')}, work tree {work}"
    )
    up = Bringup(name, work, env, work / "e2e.log", work / "kubeconfig", engine)
    teardown = checks.Report()
    summary = results.summarize(wanted, {}, skipped)  # until the JUnit XML says otherwise: none ran
    try:
        step = time.monotonic()
        created = up.create()
        not_ready = cluster_ready(f"{name}-control-plane", 1 + WORKERS) if created else f"up failed: see {up.log}"
        timings["up"] = time.monotonic() - step
        if not_ready:
            say(f"the cluster is not ready, no test runs: {not_ready}")
        else:
            kubectl = checks.host_kubectl(work, config)
            suite_env = {**os.environ, "KUBERNETES_CONFORMANCE_TEST": "y", "KUBECONFIG": str(work / "kubeconfig")}
            step = time.monotonic()
            for phase, names, nodes in phases(to_run, args.nodes):
                command = ginkgo_command(
                    suite, focus_on(names), nodes, report_dir / phase, work / "kubeconfig", kubectl
                )
                say(f"{phase}: {len(names)} tests, ginkgo on {nodes} processes; log: {run_dir / f'{phase}.log'}")
                (report_dir / phase).mkdir()
                run_suite(command, suite_env, run_dir / f"{phase}.log")
            timings["suite"] = time.monotonic() - step
            summary = results.summarize(wanted, results.read_junit(report_dir), skipped)
    finally:
        if args.keep:
            say(f"kept: {work}; tear it down with: .venv/bin/python -m tests.e2e.run {stack} --destroy {work}")
        else:
            step = time.monotonic()
            recorded = up.recorded_build_cache()
            volumes = checks.cluster_volumes(name)
            teardown.check("destroy", up.destroy(), f"see {up.log}")
            checks.residue(teardown, name, work, recorded, volumes)
            timings["destroy"] = time.monotonic() - step
            if teardown.failed:
                say(f"kept {work} for a look at what the teardown left (e2e.log)")
            else:
                shutil.rmtree(work, ignore_errors=True)
    timings["total"] = time.monotonic() - started
    problems = {check: teardown.failures[check] for check in teardown.failed}
    return report(run_dir, stack, name, release, engine, args, summary, timings, problems)


def report(
    run_dir: Path,
    stack: str,
    name: str,
    release: str,
    engine: bool,
    args,
    summary: results.Summary,
    timings,
    teardown: dict,
) -> int:
    facts = {
        "stack": stack,
        "cluster": name,
        "release": release,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "engine": "pulumi" if engine else "executor",
        "set": "serial" if args.serial else "default",
        "focus": args.focus,
        "nodes": args.nodes,
        "seconds": {name: round(seconds) for name, seconds in timings.items()},
    }
    (run_dir / "summary.json").write_text(
        json.dumps({**facts, **summary.as_json(), "teardown": teardown}, indent=2) + "\n"
    )
    for name, why in summary.failed.items():
        print(f"FAILED   {name}: {why}")
    for name, why in summary.skipped.items():
        print(f"skipped  {name}: {why}")
    minutes, seconds = divmod(round(timings["total"]), 60)
    say(f"wall time {minutes} min {seconds:02d} s; JUnit XML, log and summary in {run_dir}")
    for name, why in teardown.items():
        print(f"teardown FAILED  {name}: {why}")
    print(f"skipped: {len(summary.skipped)}")
    print(summary.line())
    return 1 if summary.failed or not summary.passed or teardown else 0
