"""Your own images into the running cluster (kindling:images), checked for real with the real engine.

An image built here is added to the stack and brought up: a pod on every node runs it, and no node
container was replaced. Rebuilt under the same tag, the next up loads it again (the pods run the new
one). Removed from the stack, the next up takes it out of every node, and again no node is replaced.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.checks import Report, kubectl, node_names, run, waited


def build(image: str, base: str, marker: str) -> str:
    """``image``: the base image with /marker saying ``marker``; returns its id. Committed from a container
    rather than built, so that the run leaves no build cache behind (checked at the end)."""
    made = run(["docker", "create", base, "true"])
    if made.returncode != 0:
        raise RuntimeError(f"docker create {base}: {made.stderr.strip()}")
    container = made.stdout.strip()
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "marker").write_text(marker + "\n")
            run(["docker", "cp", str(Path(directory, "marker")), f"{container}:/marker"])
        committed = run(["docker", "commit", container, image])
        if committed.returncode != 0:
            raise RuntimeError(f"docker commit {image}: {committed.stderr.strip()}")
    finally:
        run(["docker", "rm", container])
    return run(["docker", "image", "inspect", "--format", "{{.Id}}", image]).stdout.strip()


def container_ids(names: list[str]) -> dict[str, str]:
    return {name: run(["docker", "inspect", "--format", "{{.Id}}", name]).stdout.strip() for name in names}


def what_each_node_runs(control_plane: str, image: str, names: list[str]) -> dict[str, str]:
    """/marker as a pod on each node prints it, from the node's own copy of ``image`` (never pulled)."""
    said = {}
    for index, node in enumerate(names):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"image-check-{index}", "namespace": "default"},
            "spec": {
                "nodeName": node,
                "tolerations": [{"operator": "Exists"}],
                "restartPolicy": "Never",
                # Never pulled: what runs is the node's own copy, or nothing.
                "containers": [
                    {"name": "app", "image": image, "imagePullPolicy": "Never", "command": ["cat", "/marker"]}
                ],
            },
        }
        kubectl(control_plane, "apply", "-f", "-", stdin=json.dumps(pod))
    for index, node in enumerate(names):
        name = f"image-check-{index}"
        waited(
            lambda n=name: (
                kubectl(control_plane, "get", "pod", n, "-o", "jsonpath={.status.phase}").stdout
                in ("Succeeded", "Failed")
            ),
            120,
        )
        logs = kubectl(control_plane, "logs", name)
        said[node] = logs.stdout.strip() or kubectl(control_plane, "describe", "pod", name).stdout[-300:]
        kubectl(control_plane, "delete", "pod", name, "--wait=false")
    return said


def holds(node: str, name: str) -> bool:
    listed = run(["docker", "exec", node, "ctr", "--namespace", "k8s.io", "images", "ls", "--quiet"]).stdout
    return name in listed.split()


def check(
    report: Report,
    stack: str,
    base: str,
    set_images: Callable[[list[str]], None],
    update: Callable[[], bool],
    unchanged: Callable[[], bool],
    control_planes: int = 1,
) -> dict[str, float]:
    """The checks; ``set_images`` writes kindling:images into the stack, ``update`` runs pulumi up and
    ``unchanged`` tells whether a preview shows no change."""
    image, name = f"kindling-e2e/app:{stack}", f"docker.io/kindling-e2e/app:{stack}"
    control_plane = f"{stack}-control-plane"
    names = node_names(stack, control_planes)
    before = container_ids(names)
    seconds: dict[str, float] = {}
    try:
        for marker, what in (("one", "added to"), ("two", "rebuilt under the same tag in")):
            image_id = build(image, base, marker)
            set_images([image])
            step = time.monotonic()
            report.check(f"up with an image {what} kindling:images", update())
            seconds[f"up, image {what.split()[0]}"] = time.monotonic() - step
            said = what_each_node_runs(control_plane, image, names)
            report.check(
                f"a pod on every node runs the image {what.split()[0]} ({image_id[:19]})",
                set(said.values()) == {marker},
                f"{said}",
            )
            report.check(f"with the image {what.split()[0]}, no node was replaced", container_ids(names) == before)
            report.check(f"with the image {what.split()[0]}, a second up changes nothing", unchanged())
        set_images([])
        report.check("up with the image removed from kindling:images", update())
        left = [node for node in names if holds(node, name)]
        report.check("the removed image is gone from every node", not left, f"still in {left}")
        report.check("with the image removed, no node was replaced", container_ids(names) == before)
    finally:
        run(["docker", "image", "rm", "--force", image])
    return seconds
