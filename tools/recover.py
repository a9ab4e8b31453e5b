"""make recover STACK=...: after an interrupted `pulumi up` (killed, Ctrl-C twice, a lost machine), make
the stack's state and the Docker engine agree again, so that the next `make up` finishes the cluster.

    python tools/recover.py STACK [--dry-run]

An interrupted `up` leaves two kinds of debris. In the state: operations Pulumi had started and never
heard the end of ("pending creates"); the next `up` refuses to run past them. On the engine: objects
those operations made anyway (a node container, its network, a node image) that no resource owns; the
next `up` then collides with them ("name already in use") or leaves them behind for good.

Recovery, in order: refresh the stack dropping its pending creates (Pulumi cannot know whether they
finished); then remove, of the Docker objects that carry this cluster's name or label, those the
refreshed state does not own. Everything it removes is something the next `up` makes again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kindling.contract import LABEL_CLUSTER

# A local backend's lock files, as Pulumi names them when it refuses to run ("currently locked").
LOCK_FILES = re.compile(r"file://(/\S+?\.json)")
# What the next `up` makes again, per Docker object kind; a node container is removed with its /var volume.
REMOVE = {
    "container": ["docker", "rm", "--force", "--volumes"],
    "network": ["docker", "network", "rm"],
    "image": ["docker", "rmi", "--force"],
}


@dataclass(frozen=True)
class Stray:
    kind: str  # container, network or image
    id: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.id[:12]})"


def pulumi(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pulumi", *arguments], capture_output=True, text=True, check=False)


def docker_lines(*arguments: str) -> list[str]:
    listed = subprocess.run(["docker", *arguments], capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        sys.exit(f"recover: docker {' '.join(arguments[:2])} failed: {listed.stderr.strip()}")
    return [line for line in listed.stdout.splitlines() if line.strip()]


def deployment(stack: str) -> dict:
    exported = pulumi("stack", "export", "--stack", stack)
    if exported.returncode != 0:
        sys.exit(f"recover: cannot read the state of stack {stack}: {exported.stderr.strip()}")
    return json.loads(exported.stdout).get("deployment", {})


def pending_creates(state: dict) -> list[str]:
    """The resources an interrupted update had started creating, as `type name`."""
    return [
        f"{op['resource']['type']} {op['resource']['urn'].rsplit('::', 1)[-1]}"
        for op in state.get("pending_operations") or []
        if op.get("type") == "creating"
    ]


def owned_ids(state: dict) -> set[str]:
    """Every Docker id or image reference a resource of the state holds."""
    owned: set[str] = set()
    for resource in state.get("resources") or []:
        if not resource.get("type", "").startswith("docker:"):
            continue
        outputs = resource.get("outputs") or {}
        for value in (resource.get("id"), outputs.get("imageId"), outputs.get("repoDigest"), outputs.get("name")):
            if isinstance(value, str) and value:
                owned.add(value)
    return owned


def strays(cluster: str, owned: set[str]) -> list[Stray]:
    """The cluster's Docker objects that no resource of the state owns."""
    found: list[Stray] = []
    for line in docker_lines("ps", "-a", "--no-trunc", "--filter", f"label={LABEL_CLUSTER}={cluster}",
                             "--format", "{{.ID}} {{.Names}}"):  # fmt: skip
        container_id, name = line.split(maxsplit=1)
        if container_id not in owned:
            found.append(Stray("container", container_id, name))
    for line in docker_lines("network", "ls", "--no-trunc", "--filter", f"name=^{cluster}$",
                             "--format", "{{.ID}} {{.Name}}"):  # fmt: skip
        network_id, name = line.split(maxsplit=1)
        if network_id not in owned and name not in owned:
            found.append(Stray("network", network_id, name))
    for repository in (f"kindling/{cluster}", f"kindling/{cluster}-lb"):
        for line in docker_lines("images", "--no-trunc", repository, "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"):
            image_id, reference = line.split(maxsplit=1)
            if not ({image_id, reference, image_id.removeprefix("sha256:")} & owned):
                found.append(Stray("image", image_id, reference))
    return found


def refresh(stack: str) -> bool:
    """`pulumi refresh --clear-pending-creates`, first lifting the lock a killed update left behind."""
    for attempt in (1, 2):
        print("recover: pulumi refresh --clear-pending-creates (Pulumi cannot know whether they finished)")
        refreshed = subprocess.run(
            ["pulumi", "refresh", "--clear-pending-creates", "--yes", "--non-interactive", "--stack", stack],
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            capture_output=True,
            text=True,
            check=False,
        )
        print(refreshed.stdout, end="")
        if refreshed.returncode == 0:
            return True
        print(refreshed.stderr, end="", file=sys.stderr)
        if attempt == 1 and "currently locked" in refreshed.stderr and lift_stale_lock(stack, refreshed.stderr):
            continue
        print(f"recover: the refresh failed; once the cause is gone: make recover STACK={stack}")
        return False
    return False


def lift_stale_lock(stack: str, message: str) -> bool:
    """Cancels the lock only when every holder was an update on this host that is no longer running."""
    holders = [json.loads(Path(path).read_text()) for path in LOCK_FILES.findall(message) if Path(path).is_file()]
    if not holders:
        print(f"recover: {stack} is locked by an update elsewhere; if none is running, run: pulumi cancel -s {stack}")
        return False
    live = [h for h in holders if h.get("hostname") != socket.gethostname() or process_alive(int(h.get("pid", 0)))]
    if live:
        running = ", ".join(f"pid {h.get('pid')} on {h.get('hostname')}" for h in live)
        print(f"recover: an update of {stack} is still running ({running}); wait for it to end")
        return False
    gone = ", ".join(f"pid {h.get('pid')}" for h in holders)
    print(f"recover: the update that locked {stack} ({gone}) is gone: pulumi cancel lifts its lock")
    cancelled = subprocess.run(["pulumi", "cancel", "--yes", "--stack", stack], capture_output=True, text=True)
    return cancelled.returncode == 0


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def orphaned_plugins() -> list[tuple[int, str]]:
    """Provider plugins a killed `pulumi` left running: their engine is gone, yet they may still be at work
    (a node image build finishing, say) making what no stack will own. Seen as: parent 1, and the
    engine address they were started with no longer listening."""
    listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=False).stdout
    orphans = []
    listed = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, check=False).stdout
    for line in listed.splitlines():
        fields = line.split(maxsplit=2)
        if len(fields) < 3:
            continue
        pid, ppid, args = fields
        program, _, engine = args.partition(" ")
        if ppid != "1" or "/pulumi-resource-" not in program or not re.fullmatch(r"127\.0\.0\.1:\d+", engine):
            continue
        if f"{engine} " not in listening:
            orphans.append((int(pid), Path(program).name))
    return orphans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make recover", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack")
    parser.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    args = parser.parse_args(argv)
    stack = args.stack
    pending = pending_creates(deployment(stack))
    if pending:
        print(f"recover: the last update of {stack} was interrupted while creating:")
        print("".join(f"  {item}\n" for item in pending), end="")
    for pid, plugin in orphaned_plugins():
        print(f"recover: {'would stop' if args.dry_run else 'stopping'} {plugin} (pid {pid}), whose pulumi is gone")
        if not args.dry_run:
            os.kill(pid, signal.SIGTERM)
    if not args.dry_run and not refresh(stack):
        return 1
    found = strays(stack, owned_ids(deployment(stack)))
    for stray in found:
        print(f"recover: {'would remove' if args.dry_run else 'removing'} {stray}, which no resource of {stack} owns")
        if not args.dry_run:
            removed = subprocess.run([*REMOVE[stray.kind], stray.id], capture_output=True, text=True, check=False)
            if removed.returncode != 0:
                print(f"recover: could not remove {stray}: {removed.stderr.strip()}")
                return 1
    if not pending and not found:
        print(f"recover: {stack}: nothing to recover; the state and the Docker engine agree")
    elif not args.dry_run:
        print(f"recover: done; make up STACK={stack} finishes the cluster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
