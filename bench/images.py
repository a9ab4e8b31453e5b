"""The bench's image figures: a 200 MB local image into every node of a running cluster.

Three contenders, each from nothing in every node, alternately (the order reversed every other round):
- by hand (bench/load-by-hand.sh): docker save piped into each node's ctr import, node after node;
- make load (tools/load-image.sh): one docker save, read by every node at once;
- an up that adds it to kindling:images (the same streaming, plus the program and the engine).
And make load again once every node holds it (a look per node, nothing streamed), and an up again
with the image in place (nothing to load: what Pulumi itself costs of the up figure).
The image is random bytes (nothing compresses or is shared with what the nodes hold), in one layer.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "kindling-bench/load:200mb"
NAME = f"docker.io/{IMAGE}"  # as containerd names it
LAYERS_MB = (150, 50)  # two files

# In a node: the image's names gone (its own, and CRI's by id), then a synchronous garbage collection
# (the removal of a throwaway name with --sync), so that the next contender writes every byte again.
CLEAR = """set -eu
ctr() { command ctr --namespace k8s.io "$@"; }
for ref in $(ctr images ls -q | grep -Fx -e "$1" -e "$2" || true); do ctr images rm "$ref" >/dev/null; done
any=$(ctr images ls -q | grep -vFx kindling-bench/gc:collect | head -n 1)
ctr images rm kindling-bench/gc:collect >/dev/null 2>&1 || true
ctr images tag "$any" kindling-bench/gc:collect >/dev/null
ctr images rm --sync kindling-bench/gc:collect >/dev/null
"""


def build_image() -> tuple[str, int]:
    """IMAGE, made here from random bytes; its id and size in bytes. Imported from a tar stream rather
    than built, so that it leaves no build cache behind."""
    with tempfile.TemporaryDirectory() as directory:
        for index, megabytes in enumerate(LAYERS_MB):
            with open(Path(directory, f"part-{index}"), "wb") as out:
                for _ in range(megabytes):
                    out.write(os.urandom(1_000_000))
        packed = subprocess.Popen(["tar", "-C", directory, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", IMAGE], stdin=packed.stdout, check=True, capture_output=True)
        packed.wait()
    shown = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}} {{.Size}}", IMAGE], capture_output=True, text=True
    )
    image_id, size = shown.stdout.split()
    return image_id, int(size)


def clear(nodes: list[str], image_id: str) -> None:
    for node in nodes:
        subprocess.run(
            ["docker", "exec", node, "sh", "-c", CLEAR, "clear", NAME, image_id], check=True, capture_output=True
        )


def succeeded(command: list[str]) -> bool:
    """Whether ``command`` succeeded; if not, what it said, so that a failed figure has its reason."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        said = " / ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        print(f"bench: {' '.join(command[:3])} ... failed ({done.returncode}): {said}", flush=True)
    return done.returncode == 0


def measure(stack: str, nodes: list[str], rounds: int, up_with: Callable[[list[str]], bool]) -> dict[str, list[float]]:
    """Seconds of each contender per round; ``up_with(images)`` sets kindling:images and runs up."""
    image_id, size = build_image()
    print(f"bench: {IMAGE} is {size / 1e6:.0f} MB ({image_id[:19]}); into {len(nodes)} nodes", flush=True)
    contenders: list[tuple[str, Callable[[], bool]]] = [
        ("load_by_hand", lambda: succeeded(["sh", str(ROOT / "bench" / "load-by-hand.sh"), IMAGE, *nodes])),
        ("load_make", lambda: succeeded([str(ROOT / "tools" / "load-image.sh"), stack, IMAGE])),
        ("load_up", lambda: up_with([IMAGE])),
    ]
    figures: dict[str, list[float]] = {key: [] for key, _ in contenders} | {"load_again": [], "up_unchanged": []}
    try:
        for round_ in range(rounds):
            for key, action in contenders if round_ % 2 == 0 else contenders[::-1]:
                clear(nodes, image_id)
                started = time.monotonic()
                done = action()
                seconds = time.monotonic() - started
                print(f"bench: round {round_ + 1}: {key} {f'{seconds:.1f} s' if done else 'failed'}", flush=True)
                if done:
                    figures[key].append(seconds)
                if key == "load_make" and done:
                    started = time.monotonic()
                    if succeeded([str(ROOT / "tools" / "load-image.sh"), stack, IMAGE]):
                        figures["load_again"].append(time.monotonic() - started)
                if key == "load_up" and done:
                    # What up costs with nothing to load: Pulumi's part of the figure above.
                    started = time.monotonic()
                    if up_with([IMAGE]):
                        figures["up_unchanged"].append(time.monotonic() - started)
                if key == "load_up":
                    up_with([])  # the load goes again, so that the next up creates it anew
    finally:
        subprocess.run(["docker", "image", "rm", IMAGE], capture_output=True)
        clear(nodes, image_id)
    return figures
