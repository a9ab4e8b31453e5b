"""Drill 5, load: 150 pause pods spread over the control plane and two workers, then deleted.

Throughout, a probe asks the API server from the host every second (`/readyz`, straight over HTTPS with the
kubeconfig's client certificate, so a slow `kubectl` start on a busy host is not counted as the API's latency)
and lists the nodes every five seconds: any failed call or NotReady node fails the drill. Afterwards a
no-op `up` must change nothing.

Why 150 fit: the kubelet's default limit is 110 pods a node, and each node gets a /24 of the pod subnet
(10.244.0.0/16, kube-controller-manager's default mask), 254 addresses; a topology spread constraint
(maxSkew 1 over kubernetes.io/hostname, the control plane's taint tolerated) puts 50 on each node.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import yaml

from tests.drills.clusters import DrillCluster
from tests.e2e import checks
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed

PODS = 150
LABEL = "drill-load"
WAIT_SECONDS = 1500
PROBE_TIMEOUT = 10


def deployment(image: str, replicas: int = PODS) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": LABEL, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": LABEL}},
            "template": {
                "metadata": {"labels": {"app": LABEL}},
                "spec": {
                    # The control plane's taint (node-role.kubernetes.io/master before 1.24, control-plane after).
                    "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": {"app": LABEL}},
                        }
                    ],
                    "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "containers": [{"name": "pause", "image": image, "imagePullPolicy": "Never"}],
                },
            },
        },
    }


def pause_image(node: str) -> str:
    """The pause image the node's containerd already holds (the one its kubelet runs every sandbox with)."""
    listed = checks.in_node(node, "ctr", "-n", "k8s.io", "images", "ls", "-q").stdout.split()
    named = sorted(ref for ref in listed if "/pause:" in ref and "@" not in ref)
    return named[-1] if named else ""


class Api:
    """GETs against the kubeconfig's API server with its client certificate, timed."""

    def __init__(self, kubeconfig: Path, secrets: Path):
        document = yaml.safe_load(kubeconfig.read_text())
        self.server = document["clusters"][0]["cluster"]["server"]
        user = document["users"][0]["user"]
        secrets.mkdir(mode=0o700, exist_ok=True)
        pem = {"cert": user["client-certificate-data"], "key": user["client-key-data"]}
        for name, data in pem.items():
            fd = os.open(secrets / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64decode(data))
        authority = base64.b64decode(document["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        self.context = ssl.create_default_context(cadata=authority)
        self.context.load_cert_chain(secrets / "cert", secrets / "key")
        for name in pem:
            (secrets / name).unlink()  # loaded: the key stays in memory only

    def get(self, path: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, float, bytes]:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(self.server + path, timeout=timeout, context=self.context) as answer:
                body = answer.read()
                return answer.status == 200, time.monotonic() - started, body
        except OSError as error:  # URLError, timeouts, refused connections
            return False, time.monotonic() - started, str(error).encode()

    def items(self, path: str) -> list[dict]:
        answered, _, body = self.get(path, timeout=60)
        return json.loads(body)["items"] if answered else []


class Probe:
    """Asks /readyz every second and the nodes' Ready condition every fifth, in a thread, until stopped."""

    def __init__(self, api: Api):
        self.api = api
        self.calls = 0
        self.failures: list[str] = []
        self.worst = 0.0
        self.not_ready: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def __enter__(self) -> Probe:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            at = time.monotonic() - self._started
            answered, seconds, body = self.api.get("/readyz")
            self.calls += 1
            self.worst = max(self.worst, seconds)
            if not answered:
                self.failures.append(f"/readyz at {at:.0f}s: {body.decode(errors='replace')[:120]}")
            if tick % 5 == 0:
                answered, _, body = self.api.get("/api/v1/nodes")
                nodes = json.loads(body)["items"] if answered else []
                if not answered:
                    self.failures.append(f"node list at {at:.0f}s: {body.decode(errors='replace')[:120]}")
                self.not_ready += [f"{n['metadata']['name']} at {at:.0f}s" for n in nodes if not checks.ready(n)]
            tick += 1
            self._stop.wait(max(0.0, 1 - seconds))


def spread(pods: list[dict]) -> Counter:
    """Running pods by node."""
    return Counter(p["spec"].get("nodeName") for p in pods if p["status"].get("phase") == "Running")


def run(report: Report, cluster: DrillCluster, load: str = "") -> None:
    """``load``: the host's load average when the drill starts, for the report."""
    drill = Prefixed(report, "load")
    image = pause_image(cluster.control_plane)
    if not drill.check("the node holds a pause image", bool(image), "ctr images ls shows none"):
        return
    api = Api(cluster.kubeconfig, cluster.work / "load-secrets")
    pods_path = f"/api/v1/namespaces/default/pods?labelSelector=app%3D{LABEL}"
    with Probe(api) as probe:
        step = time.monotonic()
        applied = cluster.host_kubectl("apply", "-f", "-", timeout="60s", stdin=json.dumps(deployment(image)))
        running = checks.waited(lambda: sum(spread(api.items(pods_path)).values()) == PODS, WAIT_SECONDS)
        up_seconds = time.monotonic() - step
        placed = spread(api.items(pods_path))
        drill.check(
            f"{PODS} pods Running in {up_seconds:.0f}s, spread {dict(sorted(placed.items()))}",
            applied.returncode == 0 and bool(running),
            f"{applied.stderr.strip()} {sum(placed.values())} Running after {up_seconds:.0f}s",
        )
        drill.time(f"{PODS} pods Running", up_seconds)
        step = time.monotonic()
        deleted = cluster.host_kubectl("delete", "deployment", LABEL, "--wait=false", timeout="60s")
        gone = checks.waited(lambda: deleted.returncode == 0 and not api.items(pods_path), WAIT_SECONDS)
        down_seconds = time.monotonic() - step
        drill.check(f"{PODS} pods deleted in {down_seconds:.0f}s", bool(gone), f"{deleted.stderr.strip()}")
        drill.time(f"{PODS} pods deleted", down_seconds)
    drill.check(
        f"every node stayed Ready throughout ({probe.calls} seconds)",
        not probe.not_ready,
        f"NotReady: {', '.join(probe.not_ready[:10])}",
    )
    drill.check(
        f"the API answered all {probe.calls} /readyz calls, the worst in {probe.worst:.2f}s (load average {load})",
        not probe.failures,
        f"{len(probe.failures)} failed: {'; '.join(probe.failures[:5])}",
    )
    drill.check("a no-op up after the load changes nothing", cluster.no_changes(), f"see {cluster.log}")
