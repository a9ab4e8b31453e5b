"""What the end-to-end run checks on a real cluster, each a named pass or failure."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kindling.catalog import catalog_release
from kindling.spec import cluster_name_problem
from kindling.versions import parse_release
from tests.docker_readback import drift

WAIT_SECONDS = 300
DNS_NAME = "kubernetes.default.svc.cluster.local"


class Report:
    def __init__(self):
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.failures: dict[str, str] = {}  # name -> detail, in the order they failed
        self.timings: dict[str, float] = {}

    def ok(self, name: str, detail: str = "") -> None:
        self.passed.append(name)
        print(f"ok      {name}{': ' + detail if detail else ''}", flush=True)

    def fail(self, name: str, detail: str) -> None:
        self.failed.append(name)
        self.failures.setdefault(name, detail)
        print(f"FAILED  {name}: {detail}", flush=True)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        if passed:
            self.ok(name)
        else:
            self.fail(name, detail)
        return passed

    def time(self, name: str, seconds: float) -> None:
        self.timings[name] = round(seconds)

    def as_json(self) -> dict:
        first = next(iter(self.failures.items()), None)
        return {
            "passed": len(self.passed),
            "failed": len(self.failed),
            "failedChecks": self.failed,
            "firstFailure": f"{first[0]}: {first[1]}" if first else None,
            "timings": self.timings,
        }

    def close(self) -> int:
        if self.timings:
            print(f"timings: {', '.join(f'{name} {seconds}s' for name, seconds in self.timings.items())}")
        print(f"{len(self.passed)} passed, {len(self.failed)} failed")
        return 1 if self.failed or not self.passed else 0


def run(command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)


def docker_exec(node: str) -> list[str]:
    return ["docker", "exec", "-i", node]


# How a command reaches a node, with its stdin: docker exec, or for machines (make e2e --node-runtime
# nspawn) their own way in (machines.machine_exec), set with reach_nodes_with.
_node_exec: Callable[[str], list[str]] = docker_exec


def reach_nodes_with(node_exec: Callable[[str], list[str]]) -> None:
    global _node_exec
    _node_exec = node_exec


def in_node(node: str, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run([*_node_exec(node), *command], stdin)


def kubectl(node: str, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return in_node(node, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", *arguments, stdin=stdin)


def waited(condition, seconds: int = WAIT_SECONDS, every: float = 1.0):
    """``condition()``'s first truthy answer within ``seconds`` (polled ``every`` so many seconds), else its
    last."""
    deadline = time.monotonic() + seconds
    while True:
        answer = condition()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(every)


def nodes(control_plane: str) -> list[dict]:
    found = kubectl(control_plane, "get", "nodes", "-o", "json")
    return json.loads(found.stdout)["items"] if found.returncode == 0 else []


def ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


def all_ready(control_plane: str, count: int) -> bool:
    found = nodes(control_plane)
    return len(found) == count and all(ready(n) for n in found)


def node_states(control_plane: str) -> dict[str, bool]:
    return {n["metadata"]["name"]: ready(n) for n in nodes(control_plane)}


def pods(control_plane: str, namespace: str) -> list[dict]:
    found = kubectl(control_plane, "get", "pods", "-n", namespace, "-o", "json")
    return json.loads(found.stdout)["items"] if found.returncode == 0 else []


def not_ready(items: list[dict]) -> list[str]:
    """Pods not Running with every container ready (CoreDNS runs a while before it answers)."""
    waiting = []
    for pod in items:
        phase = pod["status"].get("phase")
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        if phase != "Running" or not ready:
            waiting.append(f"{pod['metadata']['name']} {phase}{'' if ready else ' (not ready)'}")
    return waiting


def host_kubectl(work: Path, config: dict) -> Path:
    base = Path(config["kindling:downloads"]["kubernetes"].removeprefix("file://"))
    release = config["kindling:kubernetesVersion"]
    return next(base.glob(f"v{release}/bin/linux/*/kubectl"))


def node_names(stack: str, control_planes: int = 1, workers: int = 1) -> list[str]:
    """The node containers of a stack, as kindling names them: the first control plane, then the others."""
    planes = [f"{stack}-control-plane"] + [f"{stack}-control-plane-{n}" for n in range(2, control_planes + 1)]
    return planes + [f"{stack}-worker-{n}" for n in range(1, workers + 1)]


def api_container(stack: str, control_planes: int) -> str:
    """The container that publishes the API server: the load balancer when there are several control planes."""
    return f"{stack}-lb" if control_planes > 1 else f"{stack}-control-plane"


def cluster(
    report: Report, stack: str, release: str, kubeconfig: Path, work: Path, config: dict, control_planes: int = 1
) -> None:
    control_plane = f"{stack}-control-plane"
    names = node_names(stack, control_planes)
    version = run([str(host_kubectl(work, config)), "--kubeconfig", str(kubeconfig), "version", "-o", "json"])
    server = json.loads(version.stdout).get("serverVersion", {}).get("gitVersion") if version.returncode == 0 else None
    report.check(
        "the stack's kubeconfig reaches the API server from the host",
        server == f"v{release}",
        f"server says {server!r}: {version.stderr.strip()[-300:]}",
    )

    report.check(
        "every node Ready", waited(lambda: all_ready(control_plane, len(names))), f"{node_states(control_plane)}"
    )
    for node in nodes(control_plane):
        info = node["status"]["nodeInfo"]
        name = node["metadata"]["name"]
        report.check(f"{name} runs kubelet v{release}", info["kubeletVersion"] == f"v{release}", info["kubeletVersion"])
        containerd = expected_components(release, config).containerd
        report.check(
            f"{name} runs containerd {containerd}",
            info["containerRuntimeVersion"] == f"containerd://{containerd}",
            info["containerRuntimeVersion"],
        )
    machine_ids_their_own(report, "every node's machine id its own", names)
    runc_version = expected_components(release, config).runc
    for name in names:
        said = in_node(name, "runc", "--version").stdout
        report.check(f"{name} runs runc {runc_version}", f"runc version {runc_version}\n" in said, said.strip())

    for namespace in ("kube-system", "kube-flannel"):
        pending = waited(lambda ns=namespace: not not_ready(pods(control_plane, ns)) and pods(control_plane, ns))
        report.check(
            f"every {namespace} pod Running", bool(pending), ", ".join(not_ready(pods(control_plane, namespace)))
        )
    proxy_logs = kubectl(control_plane, "logs", "-n", "kube-system", "-l", "k8s-app=kube-proxy", "--tail", "-1")
    report.check(
        "kube-proxy without nf_conntrack_max errors",
        proxy_logs.returncode == 0 and "nf_conntrack_max" not in proxy_logs.stdout + proxy_logs.stderr,
        (proxy_logs.stdout + proxy_logs.stderr)[-300:],
    )

    dns_check(report, control_plane, config["kindling:components"]["baseImage"])
    chart = kubectl(control_plane, "get", "configmap", "kindling-e2e", "-n", "e2e", "-o", "jsonpath={.data.release}")
    report.check("the local chart from kindling:charts is deployed", chart.stdout == "e2e", chart.stderr.strip())


def resolves_from_a_pod(control_plane: str, image: str, seconds: int = 120) -> tuple[bool, str]:
    """Whether a pod resolves DNS_NAME through CoreDNS within ``seconds``. The pod asks every half second
    for half a minute, as the Service's rules may reach kube-proxy a moment after CoreDNS is ready (a new
    pod per question measured the pod's own start as well, 3 s to 4 s each); another pod follows one
    that gave up. Returns what it saw: on an answer, its last line is when the pod got it (answered_at)."""
    deadline = time.monotonic() + seconds
    attempt, seen = 0, "no answer"
    finished = ("Succeeded", "Failed")
    while time.monotonic() < deadline:
        attempt += 1
        name = f"dns-check-{attempt}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "dns",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "command": [
                            "sh",
                            "-c",
                            f"for _ in $(seq 60); do getent ahostsv4 {DNS_NAME} && date +%s.%N && exit 0; "
                            "sleep 0.5; done; exit 1",
                        ],
                    }
                ],
            },
        }
        kubectl(control_plane, "apply", "-f", "-", stdin=json.dumps(pod))
        shown = waited(
            lambda n=name: (
                phase
                if (phase := kubectl(control_plane, "get", "pod", n, "-o", "jsonpath={.status.phase}").stdout)
                in finished
                else ""
            ),
            60,
            # make bench times up to this answer: looked for often, as the pod's own answer comes every 0.5 s
            every=0.25,
        )
        logs = kubectl(control_plane, "logs", name).stdout.strip()
        # Not waited for: what is timed ends with the answer.
        threading.Thread(target=kubectl, args=(control_plane, "delete", "pod", name, "--wait=false")).start()
        if shown == "Succeeded" and DNS_NAME in logs:
            return True, logs
        seen = f"attempt {attempt}: {shown or 'no phase'} {logs!r}"
    return False, seen


def answered_at(logs: str) -> float | None:
    """When resolves_from_a_pod's pod got its answer (the host's clock, which its containers share), from
    what it printed last; None if it printed no such instant. make bench times up to this: the kubelet
    notices a container's exit only at its next look (each second), and the check looks after that."""
    lines = logs.strip().splitlines()
    try:
        return float(lines[-1]) if lines else None
    except ValueError:
        return None


def dns_check(report: Report, control_plane: str, image: str) -> None:
    answered, seen = resolves_from_a_pod(control_plane, image)
    report.check(f"DNS from a pod resolves {DNS_NAME}", answered, seen)


def readback(report: Report, containers: dict[str, dict]) -> None:
    """Every field the program sets on a node container reads back from Docker as it was sent."""
    for name, inputs in sorted(containers.items()):
        inspected = run(["docker", "container", "inspect", name])
        found = (
            drift(inputs, json.loads(inspected.stdout)[0])
            if inspected.returncode == 0
            else {"inspect": inspected.stderr}
        )
        report.check(f"{name} reads back from Docker as the program sent it", not found, f"{found}")


def versions(report: Report, release: str, reported: dict, config: dict) -> None:
    """The stack's versions output names exactly the catalog's versions, or those the bundle built instead."""
    components = expected_components(release, config)
    crictl = components.crictl
    expected = {
        "kubernetes": release,
        "kubeadm": release,
        "containerd": components.containerd,
        "runc": components.runc,
        "crictl": "not installed" if crictl == "none" else crictl,
        "helm": components.helm,
        "charts": {"flannel": components.flannel, "e2e": "0.1.0"},
    }
    report.check("the versions output is exact", reported == expected, f"{reported} != {expected}")


def machine_ids_their_own(report: Report, check: str, names: list[str]) -> None:
    """No two of the nodes ``names`` share a machine id (the kubelet reports it as the Node's machineID; some
    network add-ons name their peers by it)."""
    ids = {name: in_node(name, "cat", "/etc/machine-id").stdout.strip() for name in names}
    report.check(check, all(ids.values()) and len(set(ids.values())) == len(names), f"{ids}")


def published_port(container: str) -> str:
    return run(["docker", "port", container, "6443/tcp"]).stdout.strip()


def build_cache_ids(unshared_only: bool = False) -> list[str]:
    """The engine's build cache records; with ``unshared_only``, those no image on the engine holds."""
    listed = run(["docker", "system", "df", "-v", "--format", "{{range .BuildCache}}{{println .ID .Shared}}{{end}}"])
    records = [line.split() for line in listed.stdout.splitlines() if line.strip()]
    return [fields[0] for fields in records if not (unshared_only and fields[1:] == ["true"])]


def cluster_name(value: str) -> str:
    """A cluster name as stacks have them (argparse type): nodes, network and images are named after it."""
    if problem := cluster_name_problem(value, "--name"):
        raise argparse.ArgumentTypeError(problem)
    return value


def cluster_on_engine(name: str) -> str:
    """What of a cluster named ``name`` this Docker engine already has, in words; empty when nothing."""
    found = []
    containers = run(["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", f"label=kindling.cluster={name}"])
    if containers.stdout.split():
        found.append("containers " + ", ".join(sorted(containers.stdout.split())))
    if run(["docker", "network", "ls", "-q", "--filter", f"name=^{name}$"]).stdout.split():
        found.append(f"network {name}")
    return "; ".join(found)


def cluster_volumes(name: str) -> list[str]:
    """The volumes the cluster's containers mount (the node image's anonymous /var among them)."""
    ids = run(["docker", "ps", "-aq", "--filter", f"label=kindling.cluster={name}"]).stdout.split()
    if not ids:
        return []
    mounts = run(["docker", "inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}}\n{{end}}", *ids]).stdout
    return sorted({line.split()[1] for line in mounts.splitlines() if line.startswith("volume ")})


def residue(report: Report, stack: str, work: Path, recorded_build_cache: list[str], volumes: list[str]) -> None:
    containers = run(["docker", "ps", "-aq", "--filter", f"label=kindling.cluster={stack}"]).stdout.split()
    report.check("no container left", not containers, f"{containers}")
    networks = run(["docker", "network", "ls", "-q", "--filter", f"name=^{stack}$"]).stdout.split()
    report.check("no network left", not networks, f"{networks}")
    images = run(["docker", "images", "-q", f"kindling/{stack}"]).stdout.split()
    report.check("no node image left", not images, f"{images}")
    balancer_images = run(["docker", "images", "-q", f"kindling/{stack}-lb"]).stdout.split()
    report.check("no load balancer image left", not balancer_images, f"{balancer_images}")
    # The volumes its containers had (other clusters' volumes on the engine are not this run's business).
    left_volumes = sorted(set(run(["docker", "volume", "ls", "-q"]).stdout.split()) & set(volumes))
    report.check("no volume left", not left_volumes, f"{len(left_volumes)} of its {len(volumes)}: {left_volumes}")
    contexts = list((Path.home() / ".cache" / "kindling" / "node-image-contexts").glob(f"{stack}-*"))
    report.check("no staged build context left", not contexts, f"{contexts}")
    # The records the stack kept as its images' own (other builds on the engine meanwhile are not its business).
    # The stack counts as its own every record created while its image built, so a build of another stack
    # in the same minutes adds some; once the stack's images are gone (checked above), a record an image
    # still holds (Shared) is that other image's, and destroy could not have removed it.
    left = sorted(set(build_cache_ids(unshared_only=True)) & set(recorded_build_cache))
    report.check("no build cache left", not left, f"{len(left)} build cache records: {left[:5]}")


def expected_components(release: str, config: dict):
    """The catalog's components of ``release``, with those the stack (its bundle) sets to other versions."""
    overrides = {
        re.sub(r"[A-Z]", lambda upper: "_" + upper.group().lower(), key): value
        for key, value in config.get("kindling:components", {}).items()
    }
    return dataclasses.replace(catalog_release(parse_release(release)), **overrides)
