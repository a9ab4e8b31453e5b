"""make e2e STACK=... ARGS=--snapshot: the e2e checks on clusters restored from a snapshot.

In order, each a named check:
1. the stack's cluster (one control plane, one worker, the e2e chart) comes up as for any e2e run and
   is captured (`python -m snapshot create`, timed, its images' size reported); its certificates are then
   re-dated to expire in two hours (tests/e2e/certificates.py) and it is captured again, as a
   near-expiry snapshot; then it is destroyed;
2. ``<name>-r1``, restored from the first snapshot, gets every check `make e2e` makes of a cluster
   (versions, nodes, pods, DNS, the chart, a restart of every node), plus: its nodes are only its own
   (and nothing the API server lists names the snapshot's),
   a CA and service-account key of its own, an API server certificate for its own name and address
   valid a year, and etcd's member at its own address; and, as its `up` ends (as for r2 and r3), the API
   server lists its control plane's static pods, each the mirror of what the kubelet runs;
3. ``<name>-r2``, restored from the same snapshot while r1 runs: both answer, with different CAs, and
   neither's kubeconfig works against the other's API server; r2 then r1 are destroyed, nothing left;
4. ``<name>-r3``, restored from the near-expiry snapshot: Ready, DNS, certificates valid a year;
5. both snapshots are removed.
Each cluster has a throwaway tree, state and passphrase of its own (tests/e2e/throwaway.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

from kindling.snapshots import list_snapshots
from tests.e2e import certificates, checks
from tests.e2e.checks import Report
from tests.e2e.prefixed import Prefixed
from tests.e2e.restarted import docker_restart
from tests.e2e.throwaway import ROOT, Throwaway

EXPIRING_HOURS = 2
RESTORES = ("r1", "r2", "r3")


def capture(report: Report, cluster: str, name: str) -> bool:
    step = time.monotonic()
    made = subprocess.run([sys.executable, "-m", "snapshot", "create", cluster, "--name", name], cwd=ROOT)
    seconds = time.monotonic() - step
    report.time(f"snapshot {name}", seconds)
    found = list_snapshots().get(name)
    if made.returncode != 0 or not found:
        report.fail(f"make snapshot of {cluster} as {name}", "see the lines above")
        return False
    report.ok(f"make snapshot of {cluster} as {name}", f"{seconds:.0f}s, images {found.size_bytes / 1e6:.0f} MB")
    return True


def objects_naming(listed: dict, nodes: list[str]) -> list[str]:
    """The objects of a listing (kubectl's, as JSON) that name one of ``nodes`` anywhere: as their own name, a
    pod's (``etcd-<node>``), a field, a message or an annotation; a name that another continues (``<node>-2``)
    not counted."""
    named = re.compile("|".join(re.escape(node) + r"(?![\w-])" for node in nodes))
    found = []
    for item in listed.get("items", []):
        if named.search(json.dumps(item)):
            meta = item.get("metadata", {})
            where = f"{meta['namespace']}/" if meta.get("namespace") else ""
            found.append(f"{item.get('kind')} {where}{meta.get('name')}")
    return found


def names_of_the_snapshot(node: str, snapshot_nodes: list[str]) -> list[str]:
    """The objects the API server lists that name a node of the snapshot (or why they could not be listed)."""
    kinds = checks.kubectl(node, "api-resources", "--verbs=list", "-o", "name")
    if kinds.returncode != 0:
        return [f"kubectl api-resources: {kinds.stderr.strip()[-200:]}"]
    listed = checks.kubectl(node, "get", ",".join(kinds.stdout.split()), "--all-namespaces", "-o", "json")
    if listed.returncode != 0:
        return [f"kubectl get: {listed.stderr.strip()[-200:]}"]
    return objects_naming(json.loads(listed.stdout), snapshot_nodes)


def _annotations(pod: dict) -> dict:
    return pod["metadata"].get("annotations") or {}


def _where(pod: dict) -> str:
    return f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"


def static_pods(running: dict) -> list[dict]:
    """The pods of a kubelet's /pods (as JSON) that it runs from its manifests."""
    return [pod for pod in running.get("items", []) if _annotations(pod).get("kubernetes.io/config.source") == "file"]


def unmirrored(running: dict, listed: dict) -> list[str]:
    """The static pods a kubelet runs (its /pods, as JSON) that the API server does not list (``listed``, its
    pods, as JSON) as a mirror of the hash the kubelet runs: missing, or of another (the kubelet would delete
    that one and make its own at the pod's next sync)."""
    mirrors = {
        _where(pod): _annotations(pod)["kubernetes.io/config.mirror"]
        for pod in listed.get("items", [])
        if "kubernetes.io/config.mirror" in _annotations(pod)
    }
    return [
        _where(pod)
        for pod in static_pods(running)
        if mirrors.get(_where(pod)) != _annotations(pod).get("kubernetes.io/config.hash")
    ]


def static_pods_listed(report: Report, restored: Throwaway) -> None:
    """As the `up` ends, the API server lists the control plane's static pods (``kubectl get pods`` shows
    etcd, the API server, the controller manager and the scheduler), each the mirror of what its kubelet runs.
    A kubelet before 1.32 that synced one before its Node was registered makes its mirror only at that pod's
    next sync (the restore makes it instead)."""
    node = restored.control_plane
    what = f"{restored.name}: its control plane's static pods listed as the up ends"
    running = checks.kubectl(node, "get", "--raw", f"/api/v1/nodes/{node}/proxy/pods")
    listed = checks.kubectl(
        node, "get", "pods", "--all-namespaces", "--field-selector", f"spec.nodeName={node}", "-o", "json"
    )
    if running.returncode != 0 or listed.returncode != 0:
        report.fail(what, (running.stderr + listed.stderr).strip()[-200:])
        return
    ran = json.loads(running.stdout)
    missing = unmirrored(ran, json.loads(listed.stdout))
    # kubeadm's four: etcd, the API server, the controller manager and the scheduler.
    count = len(static_pods(ran))
    report.check(what, count >= 4 and not missing, f"{count} run, not listed: {missing}")


def own_identity(
    report: Report, restored: Throwaway, source_nodes: list[str], source_ca: bytes, source_sa: bytes
) -> None:
    """What a copied cluster usually gets wrong: names, addresses, credentials and etcd's member."""
    node = restored.control_plane
    listed = checks.kubectl(node, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    expected = checks.node_names(restored.name)
    report.check(f"{restored.name}: its nodes are its own", sorted(listed) == sorted(expected), f"{listed}")
    # What still names them once the controllers have caught up (a deleted Node's lease goes with the garbage
    # collector, a DaemonSet pod's endpoint with the pod made anew): nothing.
    named = names_of_the_snapshot(node, source_nodes)
    deadline = time.monotonic() + 60
    while named and time.monotonic() < deadline:
        time.sleep(5)
        named = names_of_the_snapshot(node, source_nodes)
    report.check(
        f"{restored.name}: nothing in the cluster names the snapshot's nodes", not named, f"{len(named)}: {named[:5]}"
    )
    ca = certificates.read(node, f"{certificates.PKI}/ca.crt") or b""
    own_ca = bool(ca) and certificates.fingerprint(ca) != certificates.fingerprint(source_ca)
    report.check(f"{restored.name}: a CA of its own", own_ca)
    sa = certificates.read(node, f"{certificates.PKI}/sa.pub") or b""
    report.check(f"{restored.name}: a service-account key of its own", bool(sa) and sa != source_sa)
    serving = certificates.read(node, f"{certificates.PKI}/apiserver.crt") or b""
    address = checks.in_node(node, "hostname", "-i").stdout.split()
    names = certificates.names_and_addresses(serving) if serving else []
    report.check(
        f"{restored.name}: the API server's certificate is for its own name and address",
        node in names and bool(address) and address[0] in names,
        f"{names}, node address {address}",
    )
    days = certificates.days_left(serving) if serving else 0
    report.check(f"{restored.name}: certificates valid a year from the restore", 364 < days <= 366, f"{days:.1f} days")
    members = checks.kubectl(
        node, "-n", "kube-system", "exec", f"etcd-{node}", "--", "etcdctl", "--endpoints", "https://127.0.0.1:2379",
        "--cacert", "/etc/kubernetes/pki/etcd/ca.crt", "--cert", "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
        "--key", "/etc/kubernetes/pki/etcd/healthcheck-client.key", "member", "list",
    )  # fmt: skip
    report.check(
        f"{restored.name}: etcd's member is at its own address",
        bool(address) and f"https://{address[0]}:2380" in members.stdout and members.stdout.count("\n") == 1,
        members.stdout.strip() or members.stderr.strip(),
    )


def server(cluster: Throwaway) -> str:
    return f"https://{checks.published_port(cluster.control_plane)}"


def not_trusted_across(report: Report, one: Throwaway, other: Throwaway) -> None:
    """Each answers its own kubeconfig; the other's API server, under another CA, refuses it."""
    answered = one.host_kubectl("get", "namespaces")
    report.check(f"{one.name} answers its own kubeconfig", answered.returncode == 0, answered.stderr.strip()[-200:])
    crossed = one.host_kubectl("get", "namespaces", server=server(other))
    report.check(
        f"{one.name}'s kubeconfig does not work against {other.name}'s API server",
        crossed.returncode != 0 and "certificate" in crossed.stderr,
        crossed.stderr.strip()[-200:] or "it answered",
    )


def run(report: Report, stack: str, name: str, release: str, env: dict, engine: bool) -> None:
    snap, expiring = f"e2e-{name}", f"e2e-{name}-expiring"
    taken = [f"snapshot {s} (make snapshot-rm NAME={s})" for s in (snap, expiring) if s in list_snapshots()]
    for restore in (f"{name}-{r}" for r in RESTORES):
        if found := checks.cluster_on_engine(restore):
            taken.append(f"cluster {restore} ({found})")
    if taken:
        # Another run's, or one a stopped run left: neither is ours to remove.
        report.fail("snapshot and restore names free", f"on this engine already: {'; '.join(taken)}")
        return
    source = Throwaway(stack, name, env, engine)
    source_ca = source_sa = b""
    try:
        if not source.create(report):
            return
        source_ca = certificates.read(source.control_plane, f"{certificates.PKI}/ca.crt") or b""
        source_sa = certificates.read(source.control_plane, f"{certificates.PKI}/sa.pub") or b""
        if not capture(report, name, snap):
            return
        try:
            count = certificates.expire_soon(source.control_plane, checks.node_names(name)[1:], EXPIRING_HOURS)
        except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as failed:
            report.fail(f"{name}: certificates re-dated to expire in {EXPIRING_HOURS} hours", f"{failed!r}")
        else:
            report.ok(f"{name}: certificates re-dated to expire in {EXPIRING_HOURS} hours", f"{count} certificates")
            capture(report, name, expiring)
    finally:
        source.destroy(Prefixed(report, name))
    restores(report, stack, name, release, env, engine, (snap, expiring), (source_ca, source_sa))


def restores(report, stack, name, release, env, engine, snapshots, source_keys) -> None:
    from tests.e2e.run import api_answers, dns_image  # run.py imports this module

    snap, expiring = snapshots
    first = Throwaway(stack, f"{name}-r1", env, engine, snapshot=snap)
    second = Throwaway(stack, f"{name}-r2", env, engine, snapshot=snap)
    second_tried = False
    try:
        if first.create(report):
            static_pods_listed(report, first)
            checks.readback(report, first.up.container_inputs())
            checks.versions(report, release, first.up.versions(), first.config)
            if engine:
                first.up.no_changes(report)
            checks.cluster(report, first.name, release, first.kubeconfig, first.work, first.config)
            own_identity(report, first, checks.node_names(name), *source_keys)
            for what, seconds in docker_restart(
                report, first.name, api_answers(first.work, first.config, first.kubeconfig), dns_image(first.config)
            ).items():
                report.time(f"{first.name}: {what}", seconds)
            second_tried = True
            if second.create(report):
                static_pods_listed(report, second)
                report.check(
                    f"{second.name}: every node Ready beside {first.name}",
                    bool(checks.waited(lambda: checks.all_ready(second.control_plane, 2))),
                    f"{checks.node_states(second.control_plane)}",
                )
                own_identity(report, second, checks.node_names(name), *source_keys)
                not_trusted_across(report, first, second)
                not_trusted_across(report, second, first)
                both = f"{first.name}, {second.name}"
                nodes = first.nodes() + second.nodes()
                checks.machine_ids_their_own(report, f"{both}: every node's machine id its own", nodes)
    finally:
        if second_tried:
            second.destroy(Prefixed(report, second.name))
            answers = api_answers(first.work, first.config, first.kubeconfig)
            report.check(f"{first.name} still answers after {second.name} is gone", answers())
        first.destroy(Prefixed(report, first.name))
    near = Throwaway(stack, f"{name}-r3", env, engine, snapshot=expiring)
    try:
        image = f"kindling-snapshot/{expiring}:control-plane"
        old = certificates.from_image(image, f"{certificates.PKI}/apiserver.crt")
        report.check(
            f"snapshot {expiring}: its certificates expire within {EXPIRING_HOURS} hours",
            bool(old) and 0 < certificates.days_left(old) * 24 <= EXPIRING_HOURS,
            f"{certificates.days_left(old) * 24:.1f} hours left" if old else f"no apiserver.crt in {image}",
        )
        if near.create(report):
            static_pods_listed(report, near)
            report.check(
                f"{near.name}: every node Ready", bool(checks.waited(lambda: checks.all_ready(near.control_plane, 2)))
            )
            checks.dns_check(report, near.control_plane, dns_image(near.config))
            serving = certificates.read(near.control_plane, f"{certificates.PKI}/apiserver.crt") or b""
            days = certificates.days_left(serving) if serving else 0
            report.check(f"{near.name}: certificates valid a year from the restore", 364 < days <= 366, f"{days:.1f}")
    finally:
        near.destroy(Prefixed(report, near.name))
        for name_ in snapshots:
            removed = subprocess.run([sys.executable, "-m", "snapshot", "rm", name_], cwd=ROOT, capture_output=True)
            report.check(f"make snapshot-rm NAME={name_}", removed.returncode == 0, removed.stdout.decode().strip())
