"""Drill 3, side by side: stacks of three releases up at once, and two clusters of the same release.

Each cluster answers on its own API port with its own release. Destroying one leaves every other and all it
owns untouched: containers (id, start time, address), network, volumes, node images and the build cache
records the stack keeps, compared by id before and after. The twin (a second cluster of the first release,
its node image built from the same context, so the same image id under another repository) is destroyed
first: that is the case where an image or a build cache record is shared.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from tests.drills.clusters import DrillCluster, bundle_built
from tests.e2e import checks
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed
from tests.e2e.throwaway import release_of

STACKS = ("k8s-1-19-1", "k8s-1-34-0", "k8s-1-22-0")
DRILL = "side by side"
ADDRESSES = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
IMAGE_ID = "{{.Repository}}:{{.Tag}} {{.ID}}"


def names(stacks: tuple[str, ...] = STACKS) -> list[tuple[str, str]]:
    """``(stack, cluster name)`` of every cluster the drill brings up: one per stack, then the first's twin."""
    return [(stack, f"drill-side-{stack}") for stack in stacks] + [(stacks[0], f"drill-twin-{stacks[0]}")]


def owned(cluster: DrillCluster) -> dict[str, str]:
    """What of the Docker engine is ``cluster``'s, each object by its id (and how it runs)."""
    held: dict[str, str] = {}
    listed = checks.run(["docker", "ps", "-aq", "--filter", f"label=kindling.cluster={cluster.name}"]).stdout.split()
    if listed:
        shape = "{{.Name}} {{.Id}} {{.State.Status}} {{.State.StartedAt}} " + ADDRESSES
        for line in checks.run(["docker", "inspect", "--format", shape, *listed]).stdout.splitlines():
            container, _, how = line.partition(" ")
            held[f"container {container.lstrip('/')}"] = how
    for network in checks.run(["docker", "network", "ls", "-q", "--filter", f"name=^{cluster.name}$"]).stdout.split():
        held[f"network {cluster.name}"] = network
    for volume in checks.cluster_volumes(cluster.name):
        held[f"volume {volume}"] = "present"
    for repository in (f"kindling/{cluster.name}", f"kindling/{cluster.name}-lb"):
        images = checks.run(["docker", "images", "--no-trunc", "--format", IMAGE_ID, repository])
        for line in images.stdout.splitlines():
            tag, _, image_id = line.partition(" ")
            held[f"image {tag}"] = image_id
    present = set(checks.build_cache_ids())
    for record in cluster.up.recorded_build_cache():
        held[f"build cache record {record}"] = "present" if record in present else "gone"
    return held


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs between two views of the same cluster's objects, in words."""
    gone = [f"{what} gone" for what in before if what not in after]
    new = [f"{what} appeared" for what in after if what not in before]
    moved = [f"{what}: {was} -> {after[what]}" for what, was in before.items() if what in after and was != after[what]]
    return gone + new + moved


def server_of(cluster: DrillCluster) -> tuple[str | None, str]:
    """The release its kubeconfig's API server reports, and the address the kubeconfig names."""
    version = cluster.host_kubectl("version", "-o", "json")
    server = json.loads(version.stdout).get("serverVersion", {}).get("gitVersion") if version.returncode == 0 else None
    address = cluster.host_kubectl("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}").stdout.strip()
    return server, address


def destroyed_alone(report: Prefixed, gone: DrillCluster, others: list[DrillCluster]) -> None:
    """Destroy ``gone`` and check that every other cluster kept all it owns, and still answers."""
    before = {other.name: owned(other) for other in others}
    gone.destroy(Prefixed(report.report, f"{DRILL}: {gone.name}"))
    for other in others:
        differences = changed(before[other.name], owned(other))
        report.check(
            f"destroying {gone.name} leaves {other.name}'s {len(before[other.name])} objects untouched",
            bool(before[other.name]) and not differences,
            "; ".join(differences) or "it owned nothing before",
        )
        server, _ = server_of(other)
        report.check(
            f"after {gone.name} is gone, {other.name} still answers (v{other.release})",
            server == f"v{other.release}",
            f"server says {server!r}",
        )


def run(report: Report, env: dict, stacks: tuple[str, ...] = STACKS, say: Callable[[str], None] = print) -> None:
    drill = Prefixed(report, DRILL)
    for release in sorted({release_of(stack) for stack in stacks}):
        if not drill.check(f"the {release} bundle", bundle_built(release), f"make bundle RELEASE={release} failed"):
            return
    clusters: list[DrillCluster] = []
    try:
        for stack, name in names(stacks):
            clusters.append(DrillCluster(stack, name, env))
            say(f"{DRILL}: {name} ({stack}), work tree {clusters[-1].work}")
            if not clusters[-1].create(drill):
                return
        step = time.monotonic()
        addresses: dict[str, str] = {}
        for cluster in clusters:
            ready = checks.waited(cluster.all_ready)
            server, address = server_of(cluster)
            addresses[cluster.name] = address
            drill.check(
                f"{cluster.name} answers at {address} as v{cluster.release}, every node Ready",
                server == f"v{cluster.release}" and bool(ready),
                f"server says {server!r}; nodes {checks.node_states(cluster.control_plane)}",
            )
        drill.time("all four answering", time.monotonic() - step)
        drill.check(
            "each cluster has an API port of its own",
            len(set(addresses.values())) == len(clusters),
            f"{addresses}",
        )
        twin, first = clusters[-1], clusters[0]
        # Whether the twin's node image is the first's under another tag: the case where destroy must only untag.
        first_images = {v for k, v in owned(first).items() if k.startswith("image ")}
        twin_images = {v for k, v in owned(twin).items() if k.startswith("image ")}
        shared = sorted(first_images & twin_images) or "none"
        say(f"{DRILL}: {first.name} and {twin.name} share node image ids: {shared}")
        destroyed_alone(drill, twin, clusters[:-1])
        clusters.pop()
        destroyed_alone(drill, clusters[1], [clusters[0], *clusters[2:]])
        clusters.pop(1)
    finally:
        for cluster in clusters:
            cluster.destroy(Prefixed(report, f"{DRILL}: {cluster.name}"))
