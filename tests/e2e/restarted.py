"""The cluster after every node restarted: back as a user needs it, not only as it last said it was.

A Node keeps the Ready it last reported until the node controller gives up on it (40 s), so "every node
Ready" read just after a restart is the state from before it. Back means: each kubelet has reported its
node Ready since the restart, every kube-system and kube-flannel pod Running and ready, the API server
answering on its published address, and a pod made after the restart resolving a Service's name (the pod
network, kube-proxy and CoreDNS all working again). Node containers restart with ``docker restart``
(docker_restart); machines with their runtime's own restart (machines.restart), then the same checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tests.e2e.checks import (
    DNS_NAME,
    Report,
    api_container,
    node_names,
    nodes,
    not_ready,
    pods,
    published_port,
    resolves_from_a_pod,
    run,
    waited,
)

# The namespaces whose pods must all be Running again (kubeadm's own, and the pod network's).
SYSTEM_NAMESPACES = ("kube-system", "kube-flannel")


def heartbeat_after(node: dict, since: datetime) -> bool:
    """Whether the node's kubelet has reported Ready at ``since`` or later (not a status from before it)."""
    for condition in node["status"]["conditions"]:
        if condition["type"] == "Ready" and condition["status"] == "True":
            beat = datetime.fromisoformat(condition["lastHeartbeatTime"].replace("Z", "+00:00"))
            return beat >= since
    return False


def restart_began() -> datetime:
    """The instant heartbeats must not precede (whole seconds, as the API server writes them)."""
    return datetime.now(UTC).replace(microsecond=0)


def back(
    report: Report,
    control_plane: str,
    names: list[str],
    since: datetime,
    api_answers: Callable[[], bool],
    dns_image: str,
) -> dict[str, float]:
    """Check that the cluster whose nodes are ``names`` is back after a restart begun at ``since``; timings."""
    step = time.monotonic()
    seconds: dict[str, float] = {}

    def fresh() -> dict[str, bool]:
        return {n["metadata"]["name"]: heartbeat_after(n, since) for n in nodes(control_plane)}

    reported = waited(lambda: len(states := fresh()) == len(names) and all(states.values()))
    report.check("after the restart every kubelet reports its node Ready again", reported, f"{fresh()}")
    seconds["nodes Ready again"] = time.monotonic() - step
    for namespace in SYSTEM_NAMESPACES:
        running = waited(lambda ns=namespace: not not_ready(pods(control_plane, ns)) and pods(control_plane, ns))
        report.check(
            f"after the restart every {namespace} pod Running",
            bool(running),
            ", ".join(not_ready(pods(control_plane, namespace))),
        )
    report.check("after the restart the API answers on its published address", waited(api_answers, 60))
    answered, seen = resolves_from_a_pod(control_plane, dns_image)
    report.check(f"after the restart a new pod resolves {DNS_NAME}", answered, seen)
    seconds["cluster back"] = time.monotonic() - step
    return seconds


def docker_restart(
    report: Report, stack: str, api_answers: Callable[[], bool], dns_image: str, control_planes: int = 1
) -> dict[str, float]:
    """``docker restart`` every node container (and the load balancer), then check the cluster is back."""
    names = node_names(stack, control_planes)
    api = api_container(stack, control_planes)
    before = published_port(api)
    since = restart_began()
    step = time.monotonic()
    restarted = run(["docker", "restart", *names, *([api] if api not in names else [])])
    report.check("docker restart of every node", restarted.returncode == 0, restarted.stderr.strip())
    seconds = {"docker restart": time.monotonic() - step}
    seconds.update(back(report, f"{stack}-control-plane", names, since, api_answers, dns_image))
    report.check(
        "the API server keeps its host port",
        published_port(api) == before,
        f"{before} before, {published_port(api)} after",
    )
    return seconds
