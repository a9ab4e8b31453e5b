"""make e2e STACK=k8s-1-19-1: a real cluster from the release bundle, checked, restarted and torn down.

    python -m tests.e2e.run STACK [--keep] [--node-runtime nspawn] [--snapshot]

1. Builds (or reuses) the release bundle, and points a throwaway copy of the tree at it:
   the stack plus one worker, flannel, a local chart, and capabilities mode where this
   Docker host refuses --privileged; with --node-runtime nspawn, nodes that are systemd-nspawn
   machines (kindling:nodeRuntime, tests/e2e/machines.py).
2. Brings the stack up: with the real engine where the docker and command provider
   plugins are installed; else with the executor (tests/e2e/executor.py) for the node
   resources and the real engine and kubernetes provider for the add-ons.
3. Checks the cluster (tests/e2e/checks.py) and, with the real engine, loads an image of its own
   into it through kindling:images (tests/e2e/images.py); restarts every node (docker restart, or
   each machine's own restart) and checks again, tears everything down and checks that nothing is left.
Ends with one line, "N passed, M failed"; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bundle.__main__ import default_out
from bundle.fragment import apply_fragment
from tests.e2e import checks, machines, restores
from tests.e2e.bringup import Bringup, set_config
from tests.e2e.checks import Report
from tests.e2e.failover import failover
from tests.e2e.restarted import docker_restart

ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = ROOT / ".ci" / "pulumi-toolchain.sh"


def say(message: str) -> None:
    print(f"e2e: {message}", flush=True)


def toolchain_env() -> dict[str, str]:
    """The Pulumi CLI built from Go modules, with a state backend and passphrase of the run's own."""
    printed = subprocess.run(["bash", str(TOOLCHAIN), "--print-env"], capture_output=True, text=True, check=False)
    if printed.returncode != 0:
        sys.exit("e2e: the Pulumi toolchain is not built; run: bash .ci/pulumi-toolchain.sh")
    env = dict(os.environ)
    for line in printed.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip('"').replace("$PATH", os.environ.get("PATH", ""))
    if os.environ.get("PULUMI_HOME"):
        env["PULUMI_HOME"] = os.environ["PULUMI_HOME"]  # plugins installed by the caller win
    return env


def real_engine_plugins(env: dict[str, str]) -> bool:
    listed = subprocess.run(["pulumi", "plugin", "ls"], capture_output=True, text=True, env=env, check=False).stdout
    return all(f"{name} " in listed or f"{name}  " in listed for name in ("docker", "command"))


def privileged_refused(image: str) -> bool:
    """Whether this Docker host refuses --privileged ("unable to apply caps", nested sandboxes)."""
    tried = subprocess.run(["docker", "run", "--rm", "--privileged", image, "true"], capture_output=True, text=True)
    return tried.returncode != 0 and "caps" in tried.stderr


def prepare(
    stack: str,
    bundle: Path,
    work: Path,
    workers: int = 1,
    chart: bool = True,
    name: str | None = None,
    node_runtime: str = "docker",
) -> tuple[dict, list[str]]:
    """Copy the tree into ``work`` and point its stack at the bundle; returns the stack's config.

    With ``name``, the work tree's stack of that name (its cluster's name) takes the stack's configuration;
    with ``node_runtime`` nspawn, its nodes are systemd-nspawn machines.
    """
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True)
    for listed in files.stdout.decode().split("\0"):
        if listed and (ROOT / listed).is_file():
            (work / listed).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / listed, work / listed)
    for venv in (".venv", "policies/venv"):
        (work / venv).symlink_to(ROOT / venv)
    stack_file = work / "stacks" / f"Pulumi.{stack}.yaml"
    if name and name != stack:
        stack_file = stack_file.rename(work / "stacks" / f"Pulumi.{name}.yaml")
    fragment = yaml.safe_load((bundle / "stack-config.yaml").read_text())
    apply_fragment(stack_file, fragment)
    document = yaml.safe_load(stack_file.read_text())
    config = document["config"]
    base = config["kindling:components"]["baseImage"]
    config["kindling:workers"] = workers
    if chart:
        config["kindling:charts"] = [{"name": "e2e", "path": "tests/e2e/chart", "version": "0.1.0", "namespace": "e2e"}]
    # The pod that asks CoreDNS needs an image with a resolver; the Debian base has getent.
    config["kindling:preloadImages"] = [*config["kindling:preloadImages"], base]
    if node_runtime != "docker":
        config["kindling:nodeRuntime"] = node_runtime
        config.pop("kindling:nodeSecurity", None)  # Docker's setting (the stack's own, maybe): machines take none
    elif privileged_refused(base):
        config["kindling:nodeSecurity"] = "capabilities"
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return config, [base]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.run")
    parser.add_argument("stack")
    parser.add_argument("--destroy", type=Path, metavar="WORK", help="tear down a run kept with --keep")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up (and the throwaway tree)")
    parser.add_argument("--executor", action="store_true", help="use the executor even where the plugins exist, as CI")
    parser.add_argument(
        "--control-planes", type=int, default=1, choices=(1, 3, 5), help="behind a load balancer, with a failover drill"
    )
    parser.add_argument("--report", type=Path, metavar="JSON", help="also write the results there (make matrix)")
    parser.add_argument(
        "--name",
        type=checks.cluster_name,
        help="the cluster's name (default: the stack's), so that a run can sit beside a cluster of that stack",
    )
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="the checks on clusters restored from a snapshot of the stack's cluster (tests/e2e/restores.py)",
    )
    parser.add_argument(
        "--node-runtime",
        choices=("docker", "nspawn"),
        default="docker",
        help="kindling:nodeRuntime: node containers (default) or systemd-nspawn machines",
    )
    args = parser.parse_args(argv)
    if args.node_runtime == "nspawn" and args.control_planes > 1:
        parser.error("--control-planes: nodeRuntime nspawn has one control plane (README, 'Node runtimes')")
    if args.snapshot and (args.node_runtime != "docker" or args.control_planes > 1):
        parser.error("--snapshot: snapshots are of Docker nodes with one control plane (README, 'Snapshots')")
    stack = args.stack
    if args.destroy:
        return destroy_kept(args.destroy)
    release = str(
        yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["kindling:kubernetesVersion"]
    )
    report = Report()
    facts = {"stack": stack, "release": release, "controlPlanes": args.control_planes}
    if args.name and args.name != stack:
        facts["cluster"] = args.name
    if args.node_runtime != "docker":
        facts["nodeRuntime"] = args.node_runtime
    try:
        return run_checks(args, stack, release, report, facts)
    finally:
        if args.report:
            args.report.write_text(json.dumps({**facts, **report.as_json()}, indent=2) + "\n")


def run_checks(args: argparse.Namespace, stack: str, release: str, report: Report, facts: dict) -> int:
    started = time.monotonic()
    name = args.name or stack
    nspawn = args.node_runtime == "nspawn"
    taken = checks.cluster_on_engine(name)
    if nspawn:
        taken = "; ".join(filter(None, [taken, machines.on_host(name, checks.node_names(name))]))
    if taken:
        # Someone else's cluster: neither bring ours up beside it nor tear it down afterwards.
        report.fail(
            "cluster name free",
            f"a cluster named {name} is already on this host ({taken}); tear it down "
            f"(pulumi destroy -s {name}, or make destroy STACK={name}) or run this under another name: "
            f"make e2e STACK={stack} ARGS='--name {stack}-e2e'",
        )
        return report.close()

    bundle = default_out(release)
    say(f"bundle for Kubernetes {release}: {bundle}")
    built = subprocess.run([sys.executable, "-m", "bundle", "build", release, "--out", str(bundle)], cwd=ROOT)
    if built.returncode != 0:
        report.fail("bundle", f"make bundle RELEASE={release} failed")
        return report.close()
    report.time("bundle", time.monotonic() - started)

    env = toolchain_env()
    if args.snapshot:
        engine = real_engine_plugins(env) and not args.executor
        facts.update(engine="pulumi" if engine else "executor", snapshot=True)
        restores.run(report, stack, name, release, env, engine)
        report.time("total", time.monotonic() - started)
        return report.close()
    work = Path(tempfile.mkdtemp(prefix=f"kindling-e2e-{stack}-"))
    env.update(PULUMI_BACKEND_URL=f"file://{work}/.state", PULUMI_CONFIG_PASSPHRASE=f"e2e-{os.getpid()}")
    (work / ".state").mkdir(parents=True)
    config, _ = prepare(stack, bundle, work, name=name, node_runtime=args.node_runtime)
    if nspawn:
        checks.reach_nodes_with(machines.machine_exec(name))
    if args.control_planes > 1:
        set_config(work, name, controlPlanes=args.control_planes)
    engine = real_engine_plugins(env) and not args.executor
    # Enough to tear a kept run down later (python -m tests.e2e.run STACK --destroy WORK).
    (work / "e2e-run.json").write_text(
        json.dumps(
            {
                "name": name,
                "engine": engine,
                "passphrase": env["PULUMI_CONFIG_PASSPHRASE"],
                "nodeRuntime": args.node_runtime,
            }
        )
    )
    security = config.get("kindling:nodeSecurity", "privileged")
    facts.update(engine="pulumi" if engine else "executor", **({} if nspawn else {"nodeSecurity": security}))
    say(
        f"mode: {'the real engine' if engine else 'the executor for docker and command resources'}; "
        + ("nodes are systemd-nspawn machines" if nspawn else f"nodeSecurity {security}")
        + f"; work tree {work}"
    )
    log = work / "e2e.log"
    kubeconfig = work / "kubeconfig"
    up = Bringup(name, work, env, log, kubeconfig, engine)
    try:
        step = time.monotonic()
        if up.create():
            report.ok("up", f"{time.monotonic() - step:.0f}s")
            report.time("up", time.monotonic() - step)
            checks.readback(report, up.container_inputs())
            checks.versions(report, release, up.versions(), config)
            if engine:
                up.no_changes(report)
            checks.cluster(report, name, release, kubeconfig, work, config, args.control_planes)
            if nspawn:
                say("kindling:images not checked: not available with nodeRuntime nspawn yet")
            elif engine:  # an update of a running stack: the executor makes a stack once
                for what, seconds in up.load_images(report, config, args.control_planes).items():
                    report.time(what, seconds)
            else:
                say("kindling:images not checked: it takes the real engine (an update of a running stack)")
            step = time.monotonic()
            if nspawn:
                restarted = machines.restart(
                    report, name, checks.node_names(name), api_answers(work, config, kubeconfig), dns_image(config)
                )
            else:
                restarted = docker_restart(
                    report, name, api_answers(work, config, kubeconfig), dns_image(config), args.control_planes
                )
            for what, seconds in restarted.items():
                report.time(what, seconds)
            report.time("restart", time.monotonic() - step)
            if args.control_planes > 1:
                kubectl = checks.host_kubectl(work, config)
                for what, seconds in failover(report, name, kubeconfig, kubectl, args.control_planes).items():
                    report.time(what, seconds)
        else:
            report.fail("up", f"see {log}")
            subprocess.run(["tail", "-n", "40", str(log)])
    finally:
        if args.keep:
            say(f"kept: {work}; tear it down with: .venv/bin/python -m tests.e2e.run {stack} --destroy {work}")
        else:
            tear_down(report, up, work, f"kept {work} for a look at what failed (e2e.log)", args.node_runtime)
    report.time("total", time.monotonic() - started)
    return report.close()


def api_answers(work: Path, config: dict, kubeconfig: Path):
    """Whether the API server answers the stack's kubeconfig from the host, now (a function of no arguments)."""
    kubectl = checks.host_kubectl(work, config)
    flags = ["--kubeconfig", str(kubeconfig), "--request-timeout=5s"]
    return lambda: checks.run([str(kubectl), *flags, "version"]).returncode == 0


def dns_image(config: dict) -> str:
    """The image of the pods that ask CoreDNS (prepare preloads it): the Debian base has getent."""
    return config["kindling:components"]["baseImage"]


def tear_down(report: Report, up: Bringup, work: Path, when_failed: str, node_runtime: str = "docker") -> None:
    """Destroy, check that nothing of the cluster is left, and drop the throwaway tree unless a check failed."""
    step = time.monotonic()
    recorded = up.recorded_build_cache()
    volumes = checks.cluster_volumes(up.stack)
    report.check("destroy", up.destroy(), f"see {up.log}")
    report.time("destroy", time.monotonic() - step)
    checks.residue(report, up.stack, work, recorded, volumes)
    if node_runtime == "nspawn":
        machines.residue(report, up.stack, checks.node_names(up.stack))
    if report.failed:
        say(when_failed)
    else:
        shutil.rmtree(work, ignore_errors=True)


def destroy_kept(work: Path) -> int:
    run = json.loads((work / "e2e-run.json").read_text())
    name = run["name"]
    env = toolchain_env()
    env.update(PULUMI_BACKEND_URL=f"file://{work}/.state", PULUMI_CONFIG_PASSPHRASE=run["passphrase"])
    report = Report()
    up = Bringup(name, work, env, work / "e2e.log", work / "kubeconfig", run["engine"])
    runtime = run.get("nodeRuntime", "docker")
    tear_down(report, up, work, f"kept {work} for a look at what failed (e2e.log)", runtime)
    return report.close()


if __name__ == "__main__":
    sys.exit(main())
