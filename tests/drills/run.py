"""make drills STACK=k8s-1-19-1: what happens around the happy path, each a named check.

    python -m tests.drills.run STACK [--name NAME] [--keep]

In a throwaway copy of the tree, with the release's bundle and one worker (as `make e2e`):
1. Killed `up` (drill 1): `pulumi up` is killed with SIGKILL during the node image build, then during
   `kubeadm init`, then during the worker's join; after each kill, the recovery the README gives
   (`make recover`, tools/recover.py) and the next `up` go on. The last `up` must give a working
   cluster, and no Docker object of the cluster may be left that no resource owns.
6. No credential leaks (drill 6): the state files, the update log (the last `up` with --verbose 9),
   `docker inspect` of every node and the process list sampled through every `up` hold no kubeconfig
   client key, private key, bootstrap token or certificate key in plaintext.
Then destroy, and nothing left (as `make e2e` checks). Killing `pulumi up` needs the real engine (the
docker and command provider plugins); where they are missing the run says so and stops.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bundle.__main__ import default_out
from tests.drills import leaks
from tests.e2e import checks
from tests.e2e.checks import Report
from tests.e2e.run import ROOT, Bringup, prepare, real_engine_plugins, say, tear_down, toolchain_env

# Where to kill `up`: the line the engine prints when the step starts, and how long after it.
KILL_POINTS = (
    ("during the node image build", "docker:index:RemoteImage node-image creating", 8),
    ("during kubeadm init", "command:local:Command kubeadm-init creating", 6),
    ("during the worker's join", "command:local:Command worker-1-join creating", 2),
)
STEP_SECONDS = 1200


def up_command(name: str, work: Path, verbose: bool = False) -> list[str]:
    command = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", name]
    command += ["--policy-pack", str(work / "policies")]
    return command + (["--verbose", "9", "--logtostderr"] if verbose else [])


def up_killed_at(marker: str, delay: float, name: str, work: Path, env: dict, log: Path) -> str:
    """Runs `up` until ``marker`` appears in its output, then SIGKILLs it; returns what happened."""
    with log.open("a") as sink:
        sink.write(f"\n$ {' '.join(up_command(name, work))}  # killed {delay}s after: {marker}\n")
        sink.flush()
        start = log.stat().st_size
        process = subprocess.Popen(up_command(name, work), cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STEP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            with log.open() as reading:
                reading.seek(start)
                if marker in reading.read():
                    break
            time.sleep(0.5)
        if process.poll() is not None:
            return f"up ended (exit {process.returncode}) before {marker!r}"
        time.sleep(delay)
        if process.poll() is not None:
            return f"up ended (exit {process.returncode}) within {delay}s of {marker!r}"
        process.send_signal(signal.SIGKILL)
        process.wait()
    return ""


def recover(name: str, work: Path, env: dict, log: Path) -> bool:
    with log.open("a") as sink:
        sink.write(f"\n$ python tools/recover.py {name}\n")
        sink.flush()
        done = subprocess.run(
            [sys.executable, "tools/recover.py", name], cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    return done.returncode == 0


def client_key(kubeconfig: Path) -> str:
    document = yaml.safe_load(kubeconfig.read_text()) if kubeconfig.exists() else None
    users = (document or {}).get("users") or [{}]
    return users[0].get("user", {}).get("client-key-data", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.drills.run")
    parser.add_argument("stack")
    parser.add_argument("--name", type=checks.cluster_name, help="the cluster's name (default: drill-STACK)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up (and the throwaway tree)")
    args = parser.parse_args(argv)
    stack, name = args.stack, args.name or f"drill-{args.stack}"
    release = str(
        yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["kindling:kubernetesVersion"]
    )
    report = Report()
    taken = checks.cluster_on_engine(name)
    if taken:
        report.fail("cluster name free", f"a cluster named {name} is already on this Docker engine ({taken})")
        return report.close()
    started = time.monotonic()
    bundle = default_out(release)
    built = subprocess.run([sys.executable, "-m", "bundle", "build", release, "--out", str(bundle)], cwd=ROOT)
    if built.returncode != 0:
        report.fail("bundle", f"make bundle RELEASE={release} failed")
        return report.close()

    env = toolchain_env()
    if not real_engine_plugins(env):
        report.fail(
            "the real engine",
            "killing `pulumi up` needs the docker and command provider plugins (pulumi plugin ls); "
            "README, Real engine, says how to install them",
        )
        return report.close()
    work = Path(tempfile.mkdtemp(prefix=f"kindling-drills-{stack}-"))
    env.update(PULUMI_BACKEND_URL=f"file://{work}/.state", PULUMI_CONFIG_PASSPHRASE=f"drills-{os.getpid()}")
    (work / ".state").mkdir(parents=True)
    config, _ = prepare(stack, bundle, work, name=name)
    # Enough to tear it down by hand if the run fails half way (python -m tests.e2e.run STACK --destroy WORK).
    (work / "e2e-run.json").write_text(
        json.dumps({"name": name, "engine": True, "passphrase": env["PULUMI_CONFIG_PASSPHRASE"]})
    )
    say(f"the real engine; nodeSecurity {config.get('kindling:nodeSecurity', 'privileged')}; work tree {work}")
    log, kubeconfig = work / "drills.log", work / "kubeconfig"
    up = Bringup(name, work, env, log, kubeconfig, engine=True)
    subprocess.run(["pulumi", "stack", "select", "--create", "--stack", name], cwd=work, env=env, capture_output=True)
    try:
        with leaks.ProcessSampler() as processes:
            for where, marker, delay in KILL_POINTS:
                missed = up_killed_at(marker, delay, name, work, env, log)
                if not report.check(f"up killed {where}", not missed, missed):
                    break
                step = time.monotonic()
                report.check(f"make recover after up was killed {where}", recover(name, work, env, log), f"see {log}")
                report.time(f"recover {where.removeprefix('during ')}", time.monotonic() - step)
            step = time.monotonic()
            with log.open("a") as sink:
                sink.write(f"\n$ {' '.join(up_command(name, work, verbose=True))}\n")
                sink.flush()
                finished = subprocess.run(
                    up_command(name, work, verbose=True), cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT
                )
            report.time("the up after the kills", time.monotonic() - step)
        recovered = report.check("the up after three kills and recoveries succeeds", finished.returncode == 0, f"{log}")
        if recovered:
            shown = subprocess.run(
                ["pulumi", "stack", "output", "kubeconfig", "--show-secrets", "--stack", name],
                cwd=work, env=env, capture_output=True, text=True,
            )  # fmt: skip
            fd = os.open(kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(shown.stdout)
            control_plane = f"{name}-control-plane"
            report.check(
                "every node of the recovered cluster Ready",
                checks.waited(lambda: checks.all_ready(control_plane, 2)),
                f"{checks.node_states(control_plane)}",
            )
            pods = checks.waited(lambda: checks.pods(control_plane, "kube-system") and not checks.not_ready(
                checks.pods(control_plane, "kube-system")))  # fmt: skip
            report.check("every kube-system pod Running", bool(pods), ", ".join(
                checks.not_ready(checks.pods(control_plane, "kube-system"))))  # fmt: skip
        stray = strays_of(name, work, env)
        report.check("nothing of the cluster left that no resource owns", not stray, ", ".join(map(str, stray)))

        key = client_key(kubeconfig)
        report.check("the kubeconfig has a client key to look for", bool(key), "no kubeconfig output")
        known = {"the kubeconfig's client key": key, "the kubeconfig's client key (decoded)": decoded(key)}
        containers = subprocess.run(
            ["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", f"label=kindling.cluster={name}"],
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        found = leaks.scan(
            {
                "state": leaks.plaintext_files(work / ".state"),
                "update log": {log.name: log.read_text(errors="replace")},
                "docker inspect": leaks.inspected(containers),
                "process list": processes.texts(known),
            },
            known,
        )
        report.check(
            "no credential in the state, the update log, docker inspect or the process list",
            not found,
            "; ".join(f"{where}: {', '.join(what)}" for where, what in found.items()),
        )
    finally:
        if args.keep:
            say(f"kept: {work}; tear it down with: .venv/bin/python -m tests.e2e.run {stack} --destroy {work}")
        else:
            tear_down(
                report,
                up,
                work,
                f"kept {work} for a look at what failed (drills.log); if anything of {name} is left: "
                f"make recover, or .venv/bin/python -m tests.e2e.run {stack} --destroy {work}",
            )
    report.time("total", time.monotonic() - started)
    return report.close()


def decoded(value: str) -> str:
    try:
        return base64.b64decode(value).decode().split("\n", 2)[1] if value else ""  # a line of the key itself
    except (ValueError, IndexError):
        return ""


def strays_of(name: str, work: Path, env: dict) -> list:
    """The cluster's Docker objects no resource of the state owns (tools/recover.py's own view)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import recover

    exported = subprocess.run(
        ["pulumi", "stack", "export", "--stack", name], cwd=work, env=env, capture_output=True, text=True
    )
    state = json.loads(exported.stdout).get("deployment", {}) if exported.returncode == 0 else {}
    return recover.strays(name, recover.owned_ids(state))


if __name__ == "__main__":
    sys.exit(main())
