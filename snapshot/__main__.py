"""make snapshot / snapshot-ls / snapshot-rm: snapshots of running kindling clusters.

python -m snapshot create CLUSTER [--name NAME]   capture a running cluster (default NAME: CLUSTER)
python -m snapshot ls                             the snapshots on this Docker engine
python -m snapshot rm NAME                        remove one (its images and volumes)
"""

from __future__ import annotations

import argparse
import sys
import time

from kindling.snapshots import list_snapshots
from kindling.spec import cluster_name_problem
from snapshot.capture import CaptureError, capture, remove


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snapshot")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create")
    create.add_argument("cluster")
    create.add_argument("--name")
    commands.add_parser("ls")
    rm = commands.add_parser("rm")
    rm.add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "ls":
        print(f"{'NAME':<24} {'RELEASE':<9} {'NODES':<24} {'SIZE':>9}  CREATED")
        for name, snap in sorted(list_snapshots().items()):
            nodes = f"1 control plane, {snap.workers} worker{'s' * (snap.workers != 1)}"
            print(f"{name:<24} {snap.release:<9} {nodes:<24} {snap.size_bytes / 1e9:>7.2f}GB  {snap.created}")
        return 0
    if args.command == "rm":
        removed = remove(args.name)
        print(f"removed {len(removed)} images and volumes of {args.name}" if removed else f"no snapshot {args.name}")
        return 0 if removed else 1
    name = args.name or args.cluster
    if problem := cluster_name_problem(name, "snapshot name"):
        sys.exit(f"snapshot: {problem}")
    if name in list_snapshots():
        sys.exit(f"snapshot: {name} exists already; remove it first: make snapshot-rm NAME={name}")
    started = time.monotonic()
    try:
        snap = capture(args.cluster, name, say=lambda line: print(f"snapshot: {line}", flush=True))
    except CaptureError as exc:
        sys.exit(f"snapshot: {exc}")
    size = list_snapshots().get(name)
    print(
        f"snapshot: {name} of {args.cluster} (Kubernetes {snap.release}, {len(snap.nodes)} nodes) in "
        f"{time.monotonic() - started:.0f}s; images {size.size_bytes / 1e9 if size else 0:.2f} GB "
        f"(sharing the node image's layers; volumes besides); start a stack from it with kindling:snapshot: {name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
