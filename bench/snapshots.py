"""make bench STACK=... ARGS=--snapshot: a normal `up` against an `up` from a snapshot, in one run.

Both contenders are the same stack, timed from nothing to every node Ready and CoreDNS answering a pod,
alternately, ``rounds`` times, in each of the shapes the snapshot goals name (SHAPES: one control plane
with one worker, then one control plane alone). The snapshot is taken once per shape, of the first
normal round's cluster (`python -m snapshot create`, timed, its size reported), and a restore runs under
the same cluster name, after that cluster is destroyed, as a user who snapshots a stack and starts it
again would. The snapshot is removed at the end.

Each restore's own credentials (a new CA, certificates, kubeconfigs and service-account key:
scripts/restore-identity.sh) are what it pays for sharing none with its snapshot: the bench reports when
they were done, from the control plane's start, and how much of that came after systemd's boot there had
finished, which is what they held the kubelet (identity_cost).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bench.clock import timed
from kindling.contract import HELPER_VAR_MOUNT
from kindling.snapshots import list_snapshots
from tests.e2e.bringup import Bringup, set_config

ROOT = Path(__file__).resolve().parent.parent

# The shapes the snapshot goals name: workers, the suffix of the shape's figures (the 1+1 shape keeps the
# plain names), how the report names it, and the goal for its snapshot up, in seconds.
SHAPES = ((1, "", "1+1 nodes", 20), (0, "_no_worker", "1 control plane", 15))


def volume_bytes(volume: str, image: str) -> int:
    """What a volume holds, in bytes (du in a container of an image the engine has: nothing is pulled)."""
    # The tmpfs: no anonymous volume with a copy of the image's own /var (kindling/contract.py).
    mounted = ["--volume", f"{volume}:/v:ro", "--mount", HELPER_VAR_MOUNT]
    counted = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "du", *mounted, image, "-sb", "/v"],
        capture_output=True,
        text=True,
    )
    return int(counted.stdout.split()[0]) if counted.returncode == 0 else 0


# In the restored control plane: when systemd's boot finished (its monotonic clock, the host's, in µs),
# then when each file of its identity was written (every file kubeadm keeps beside its static pods' manifests:
# the restore's keys, certificates and kubeconfigs, and nothing else that a restore writes).
IDENTITY_LOOK = (
    "systemctl show --property FinishTimestampMonotonic --value && "
    "find /etc/kubernetes -path /etc/kubernetes/manifests -prune -o -type f -printf '%T@\\n'"
)


def identity_seconds(started: float, boot_finished: float, written: list[float]) -> tuple[float, float]:
    """From the node container's start (epoch seconds, as the others): when its identity's last file was
    written, and how much of that came after its boot finished (none when the boot finished last)."""
    done = max(written)
    return done - started, max(0.0, done - boot_finished)


def identity_cost(node: str) -> tuple[float, float] | None:
    """identity_seconds of restored node ``node``, or None when it cannot tell (no boot finished, no files)."""
    started_at = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.StartedAt}}", node], capture_output=True, text=True
    ).stdout.strip()
    looked = subprocess.run(["docker", "exec", node, "sh", "-c", IDENTITY_LOOK], capture_output=True, text=True)
    lines = looked.stdout.split()
    if looked.returncode != 0 or len(lines) < 2 or not started_at or int(lines[0]) == 0:
        return None
    # Docker gives nanoseconds, which datetime does not take: microseconds are plenty here.
    whole, _, fraction = started_at.rstrip("Z").partition(".")
    started = datetime.fromisoformat(f"{whole}.{(fraction + '000000')[:6]}+00:00").timestamp()
    boot_finished = time.time() - time.monotonic() + int(lines[0]) / 1e6
    return identity_seconds(started, boot_finished, [float(line) for line in lines[1:]])


def measure_shapes(
    name: str,
    work: Path,
    up: Bringup,
    rounds: int,
    ready: Callable[[int], float | None],
    say: Callable[[str], None],
) -> dict[str, list[float]]:
    """Every shape's figures, each shape's keys with its suffix; ``ready(nodes)`` as for measure."""
    figures: dict[str, list[float]] = {}
    for workers, suffix, _, _ in SHAPES:
        set_config(work, name, workers=workers)
        shape = measure(name, work, up, rounds, lambda w=workers: ready(1 + w), lambda m, w=workers: say(f"1+{w}: {m}"))
        figures |= {f"{key}{suffix}": values for key, values in shape.items()}
    return figures


def measure(
    name: str,
    work: Path,
    up: Bringup,
    rounds: int,
    ready: Callable[[], float | None],
    say: Callable[[str], None],
) -> dict[str, list[float]]:
    """The figures: kindling (normal up), snapshot (up from the snapshot), snapshot_create, sizes, destroys,
    and the restores' own credentials (identity, identity_past_boot)."""
    snap = f"bench-{name}"
    subprocess.run([sys.executable, "-m", "snapshot", "rm", snap], cwd=ROOT, capture_output=True)
    figures: dict[str, list[float]] = {
        k: [] for k in ("kindling", "snapshot", "destroy", "destroy_snapshot", "identity", "identity_past_boot")
    }
    standing = False  # whether a cluster of the stack may be up (its last up was not destroyed)

    def timed_up(key: str) -> bool:
        nonlocal standing
        standing = True
        seconds = timed(lambda: up.create() and ready())
        say(f"{key}: {f'{seconds:.1f} s' if seconds is not None else 'failed'}")
        if seconds is not None:
            figures[key].append(seconds)
        return seconds is not None

    def timed_destroy(key: str) -> None:
        nonlocal standing
        started = time.monotonic()
        if up.destroy():
            standing = False
            figures[key].append(time.monotonic() - started)

    try:
        set_config(work, name, snapshot="")
        if not timed_up("kindling"):
            return figures
        started = time.monotonic()
        made = subprocess.run([sys.executable, "-m", "snapshot", "create", name, "--name", snap], cwd=ROOT)
        if made.returncode != 0 or snap not in list_snapshots():
            say("make snapshot failed: no snapshot figures")
            return figures
        figures["snapshot_create"] = [time.monotonic() - started]
        taken = list_snapshots()[snap]
        figures["snapshot_images_gb"] = [taken.size_bytes / 1e9]
        volumes = sum(volume_bytes(node.volume, node.image) for node in taken.nodes)
        figures["snapshot_volumes_gb"] = [volumes / 1e9]
        timed_destroy("destroy")
        for round_ in range(1, rounds + 1):
            if round_ > 1:
                set_config(work, name, snapshot="")
                timed_up("kindling")
                timed_destroy("destroy")
            set_config(work, name, snapshot=snap)
            if timed_up("snapshot") and (cost := identity_cost(f"{name}-control-plane")):
                figures["identity"].append(cost[0])
                figures["identity_past_boot"].append(cost[1])
                say(f"its own credentials: done {cost[0]:.1f} s after its start, {cost[1]:.1f} s past its boot")
            timed_destroy("destroy_snapshot")
    finally:
        if standing:
            up.destroy()
        subprocess.run([sys.executable, "-m", "snapshot", "rm", snap], cwd=ROOT, capture_output=True)
    return figures
