"""make bench STACK=k8s-1-34-0: kindling against the hand-made floor, on one host, in one run.

    python -m bench STACK [--rounds 3] [--executor] [--images-only] [--snapshot] [--name CLUSTER]

From the stack's release bundle, alternating the two contenders ``--rounds`` times, it times from
nothing to every node Ready and CoreDNS answering a pod (to the instant the pod got its answer, which it
prints: bench/clock.py):
- floor (bench/floor.sh): docker run, images streamed into each node, kubeadm init/join and helm
  install by hand, with the node image, container flags, kubeadm configuration and flannel chart
  the kindling stack uses;
- kindling: `pulumi up` from an empty stack (the real engine where the docker and command plugins
  are installed, else the executor CI uses).
It also times a no-op `up`, a `preview` and `destroy` (real engine only), `up`/`destroy` with
3 workers, and with those 1+3 nodes a 200 MB image of your own loaded into every node: by hand, with
`make load` and with an `up` that adds it to kindling:images (bench/images.py; `--images-only`: just
that, on a 1+3 cluster of its own, which leaves nothing behind). kindling keeps its node image build
cache between rounds (kindling:keepBuildCache), as the floor reuses its node image. Both stay after
the run, for the next one: `docker image rm kindling-floor/<stack>:bench` and `docker builder prune`
remove them.
`--snapshot`: instead, a normal `up` against an `up` from a snapshot of that cluster, with one worker and
with none (bench/snapshots.py).
`--name` names the cluster (default: the stack's), so that the bench runs beside a cluster of that
stack; a name already on the engine is refused, never torn down.
It prints one table with medians and spreads and the ratios kindling/floor and
3 workers/1 worker, and writes the figures as JSON (--json, default ~/.cache/kindling/bench/).
Never a timed assertion: it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench import images, snapshots
from bench.clock import timed
from bench.floor import prepare_floor
from bundle.__main__ import default_out
from tests.e2e.bringup import Bringup, pulumi, set_config
from tests.e2e.checks import (
    all_ready,
    answered_at,
    cluster_name,
    cluster_on_engine,
    node_names,
    resolves_from_a_pod,
    waited,
)
from tests.e2e.run import prepare, real_engine_plugins, toolchain_env

ROOT = Path(__file__).resolve().parent.parent
FLOOR = ROOT / "bench" / "floor.sh"


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def ready_and_answering(stack: str, nodes: int, dns_image: str) -> float | None:
    """Every node Ready, and a pod resolves the API's service name through CoreDNS: when it got the answer
    (bench/clock.py times up to it), or None."""
    control_plane = f"{stack}-control-plane"
    if not waited(lambda: all_ready(control_plane, nodes), 300):
        return None
    answered, seen = resolves_from_a_pod(control_plane, dns_image)
    # Without an instant printed (a check pod's image whose date cannot say it), the moment it came back.
    return (answered_at(seen) or time.time()) if answered else None


def spread(values: list[float]) -> str:
    if not values:
        return "failed"
    if len(values) == 1:
        return f"{values[0]:.1f} s"
    return f"{statistics.median(values):.1f} s ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("stack")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--executor", action="store_true", help="use the executor even where the plugins exist")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--images-only", action="store_true", help="only the image figures, on a 1+3 cluster")
    parser.add_argument(
        "--snapshot", action="store_true", help="a normal up against an up from a snapshot (bench/snapshots.py)"
    )
    parser.add_argument(
        "--name",
        type=cluster_name,
        help="the cluster's name (default: the stack's), so that the bench can sit beside a cluster of that stack",
    )
    args = parser.parse_args(argv)
    stack = args.stack
    name = args.name or stack
    taken = cluster_on_engine(name)
    if taken:
        say(f"a cluster named {name} is already on this Docker engine ({taken}); bench under another name: --name")
        return 1
    release = str(
        yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["kindling:kubernetesVersion"]
    )
    bundle = default_out(release)
    if subprocess.run([sys.executable, "-m", "bundle", "build", release, "--out", str(bundle)], cwd=ROOT).returncode:
        return 1

    env = toolchain_env()
    work = Path(tempfile.mkdtemp(prefix=f"kindling-bench-{stack}-"))
    env.update(PULUMI_BACKEND_URL=f"file://{work}/.state", PULUMI_CONFIG_PASSPHRASE=f"bench-{os.getpid()}")
    (work / ".state").mkdir()
    _, (dns_image,) = prepare(stack, bundle, work, workers=3 if args.images_only else 1, chart=False, name=name)
    # The floor starts from a node image built beforehand; kindling keeps its build cache between rounds,
    # so each round after the first builds its node image from cache, as a user's second `up` does.
    set_config(work, name, keepBuildCache=not args.images_only)
    engine = real_engine_plugins(env) and not args.executor
    say(f"kindling runs with {'the real engine' if engine else 'the executor (no docker/command plugins)'}")
    log = work / "bench.log"
    up = Bringup(name, work, env, log, work / "kubeconfig", engine)

    def loaded_images() -> dict[str, list[float]]:
        """The image figures, on the 1+3 nodes that run now (an up of kindling:images: real engine only)."""

        def up_with(loaded: list[str]) -> bool:
            set_config(work, name, images=loaded)
            return engine and up.create()

        return images.measure(name, node_names(name, 1, 3), args.rounds, up_with)

    if args.snapshot:
        ready = lambda nodes: ready_and_answering(name, nodes, dns_image)  # noqa: E731
        report(stack, release, engine, snapshots.measure_shapes(name, work, up, args.rounds, ready, say), args.json)
        shutil.rmtree(work, ignore_errors=True)
        return 0
    if args.images_only:
        seconds = timed(lambda: up.create() and ready_and_answering(name, 4, dns_image))
        figures = {"workers_3": [seconds] if seconds else []}
        try:
            if seconds:
                figures |= loaded_images()
            else:
                say(f"the 1+3 cluster did not come up (see {log}): no image figures")
        finally:
            figures["destroy_1_plus_3"] = [s for s in [timed(up.destroy)] if s]
        report(stack, release, engine, figures, args.json)
        contenders = ("load_by_hand", "load_make", "load_up") if engine else ("load_by_hand", "load_make")
        if any(len(figures.get(key, [])) < args.rounds for key in contenders):
            say(f"not every round succeeded: kept {work} (bench.log: what up said)")
        else:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    floor_dir = work / "floor"
    prepare_floor(name, work, floor_dir, bundle)

    def floor_up() -> bool:
        with log.open("a") as sink:
            done = subprocess.run(["sh", str(FLOOR), "up", str(floor_dir)], stdout=sink, stderr=sink).returncode == 0
        return done and ready_and_answering(name, 2, dns_image)

    def floor_down() -> None:
        subprocess.run(["sh", str(FLOOR), "down", str(floor_dir)], capture_output=True)

    figures: dict[str, list[float]] = {k: [] for k in ("floor", "kindling", "noop_up", "preview", "destroy")}
    for round_ in range(1, args.rounds + 1):
        for contender, action in (
            ("floor", floor_up),
            ("kindling", lambda: up.create() and ready_and_answering(name, 2, dns_image)),
        ):
            seconds = timed(action)
            say(f"round {round_}: {contender} {'failed' if seconds is None else f'{seconds:.1f} s'}")
            if seconds is not None:
                figures[contender].append(seconds)
            if contender == "floor":
                floor_down()
        if engine:
            flags = ["--stack", name, "--non-interactive"]
            for key, command in (("noop_up", ["up", "--yes", "--skip-preview"]), ("preview", ["preview"])):
                seconds = timed(lambda c=command, f=flags: pulumi([*c, *f], work, env, log))
                if seconds is not None:
                    figures[key].append(seconds)
        seconds = timed(up.destroy)
        if seconds is not None:
            figures["destroy"].append(seconds)

    set_config(work, name, workers=3)
    figures["workers_3"] = [s for s in [timed(lambda: up.create() and ready_and_answering(name, 4, dns_image))] if s]
    if figures["workers_3"]:
        figures |= loaded_images()
    figures["destroy_1_plus_3"] = [s for s in [timed(up.destroy)] if s]
    if engine:
        preview_all = timed(
            lambda: (
                subprocess.run([str(ROOT / ".ci" / "preview-all")], cwd=ROOT, env=env, capture_output=True).returncode
                == 0
            )
        )
        figures["preview_all_stacks"] = [preview_all] if preview_all else []

    report(stack, release, engine, figures, args.json)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def ratio(numerator: list[float], denominator: list[float]) -> str:
    if not numerator or not denominator:
        return "n/a"
    return f"{statistics.median(numerator) / statistics.median(denominator):.2f}"


def report(stack: str, release: str, engine: bool, figures: dict[str, list[float]], out: Path | None) -> None:
    labels = {
        "floor": "floor: nothing to Ready + DNS (1+1 nodes)",
        "kindling": "kindling: up to Ready + DNS (1+1 nodes)",
        "noop_up": "kindling: no-op up",
        "preview": "kindling: preview",
        "destroy": "kindling: destroy (1+1 nodes)",
        "snapshot_create": "make snapshot of the 1+1 cluster",
        "snapshot": "kindling: up from the snapshot to Ready + DNS (1+1 nodes)",
        "identity": "a restore's own CA, certificates and keys: done, from its control plane's start (1+1 nodes)",
        "identity_past_boot": "of that, after the node's boot: what they held its kubelet (1+1 nodes)",
        "destroy_snapshot": "kindling: destroy of the restored cluster",
        "kindling_no_worker": "kindling: up to Ready + DNS (1 control plane, no worker)",
        "snapshot_create_no_worker": "make snapshot of the 1-node cluster",
        "snapshot_no_worker": "kindling: up from the snapshot to Ready + DNS (1 control plane, no worker)",
        "identity_no_worker": "a restore's own CA, certificates and keys: done, from its start (1 control plane)",
        "identity_past_boot_no_worker": "of that, after the node's boot: what they held its kubelet (1 control plane)",
        "destroy_snapshot_no_worker": "kindling: destroy of the restored 1-node cluster",
        "workers_3": "kindling: up to Ready + DNS (1+3 nodes)",
        "destroy_1_plus_3": "kindling: destroy (1+3 nodes)",
        "preview_all_stacks": "kindling: preview of all stacks",
        "load_by_hand": "a 200 MB image into 1+3 nodes by hand (docker save piped into ctr import, node by node)",
        "load_make": "a 200 MB image into 1+3 nodes: make load",
        "load_up": "a 200 MB image into 1+3 nodes: up adding it to kindling:images",
        "load_again": "make load again, every node holding it",
        "up_unchanged": "up again, every node holding it (Pulumi's own part of the up above)",
    }
    print(f"\n| {stack} ({'real engine' if engine else 'executor'}) | median (min-max) |\n|---|---|")
    for key, label in labels.items():
        if key in figures:
            print(f"| {label} | {spread(figures[key]) if figures[key] else 'n/a'} |")
    if "floor" in figures:
        print(
            f"\nkindling/floor = {ratio(figures['kindling'], figures['floor'])}; "
            f"3 workers/1 worker = {ratio(figures.get('workers_3', []), figures['kindling'])}"
        )
    for _, suffix, shape, goal in snapshots.SHAPES:
        if f"snapshot{suffix}" in figures:
            restored = figures[f"snapshot{suffix}"]
            print(
                f"\n{shape}: snapshot up/up = {ratio(restored, figures[f'kindling{suffix}'])} (goal <= 0.3); "
                f"snapshot up {spread(restored)} (goal <= {goal} s)"
            )
        for key, label in (("snapshot_images_gb", "images"), ("snapshot_volumes_gb", "volumes")):
            if figures.get(f"{key}{suffix}"):
                print(f"{shape}: snapshot size, {label}: {figures[f'{key}{suffix}'][0]:.2f} GB")
    if "load_by_hand" in figures:
        by_hand = figures["load_by_hand"]
        print(
            f"image: make load/by hand = {ratio(figures['load_make'], by_hand)}; "
            f"up/by hand = {ratio(figures['load_up'], by_hand)}"
        )
    host = {"cpus": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release()}
    result = {"stack": stack, "kubernetes": release, "engine": engine, "host": host, "figures": figures}
    out = out or Path.home() / ".cache" / "kindling" / "bench" / f"{stack}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"figures: {out}")


if __name__ == "__main__":
    sys.exit(main())
