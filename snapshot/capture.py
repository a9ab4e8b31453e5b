"""Capture a running kindling cluster as a snapshot: per node, a local image and a volume.

In the order it happens, as small steps:
1. find the cluster's nodes (their labels, addresses, /var volumes) and what its control plane was
   initialised with (/etc/kindling/kubeadm.yaml), and wait until every one of them is Ready (refused after
   READY_WAIT_SECONDS);
2. pause every node at once, so that etcd, the kubelets and containerd are captured at one instant;
3. `docker commit` each node's root filesystem, and copy its /var volume (which a commit leaves out:
   containerd's unpacked images, etcd's data, the kubelet's state) into a volume of the snapshot's,
   while the nodes stay paused; then unpause them;
4. build each snapshot image from its commit with the kubelet disabled until a restore has given the
   node its new identity, and no machine id, so that every restored node makes its own;
5. label the images and volumes with the snapshot's manifest (kindling/snapshots.py);
6. have the engine's host write the volumes to disk, so that the snapshot is there when this returns, and
   the first restore does not wait behind the write-back of its copies.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from kindling.contract import HELPER_VAR_MOUNT, LABEL_CLUSTER, LABEL_ROLE, NODE_ROLES
from kindling.snapshots import (
    LABEL_MANIFEST,
    LABEL_NODE,
    LABEL_SNAPSHOT,
    Snapshot,
    SnapshotNode,
    image_reference,
    var_volume_name,
)

# Where the kubelet is enabled: a restore enables it again once the node has its new certificates.
KUBELET_WANTS = "/etc/systemd/system/multi-user.target.wants/kubelet.service"


class CaptureError(Exception):
    pass


def docker(*args: str, stdout=subprocess.PIPE, **kwargs) -> str:
    done = subprocess.run(["docker", *args], stdout=stdout, stderr=subprocess.PIPE, text=True, **kwargs)
    if done.returncode != 0:
        raise CaptureError(f"docker {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout or ""


def cluster_nodes(cluster: str) -> list[dict]:
    """The cluster's node containers (docker inspect documents), control planes first, then workers."""
    ids = docker("ps", "-a", "--quiet", "--filter", f"label={LABEL_CLUSTER}={cluster}").split()
    inspected = json.loads(docker("container", "inspect", *ids)) if ids else []
    nodes = [c for c in inspected if c["Config"]["Labels"].get(LABEL_ROLE) in NODE_ROLES]
    if not nodes:
        raise CaptureError(f"no kindling cluster named {cluster} on this Docker engine (docker ps -a)")
    stopped = [c["Name"].lstrip("/") for c in nodes if not c["State"]["Running"]]
    if stopped:
        raise CaptureError(f"node containers not running: {', '.join(stopped)}; start them (docker start) first")
    return sorted(nodes, key=lambda c: (NODE_ROLES.index(c["Config"]["Labels"][LABEL_ROLE]), c["Name"]))


# A node not yet Ready may not have its pod network's configuration yet (the network's pod writes it once it
# runs): every restore of it would wait for that pod to write it again, and a kubelet before 1.26 reports its
# node Ready up to 15 s after that (its runtime looked at every 5 s, its status sent every 10 s), holding
# CoreDNS off the node. 1.19.1, one node, 2026-12-05: seven restores of a snapshot taken right after `make up`
# answered a pod's DNS 14-28 s after their `up` ended; two of a snapshot of the same cluster once Ready, 3 s
# and 8 s. A cluster still starting is waited for; one that does not get there is refused, not captured.
READY_WAIT_SECONDS = 120
READY_LOOK_SECONDS = 2.0


def ready_states(control_plane: str) -> dict[str, str]:
    """Each Node's Ready condition ("True", "False" or "Unknown") as the control plane's API server lists it."""
    listed = json.loads(
        docker(
            "exec", control_plane, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "-o", "json"
        )
    )
    return {
        item["metadata"]["name"]: next(
            (c["status"] for c in item.get("status", {}).get("conditions", []) if c["type"] == "Ready"), "Unknown"
        )
        for item in listed.get("items", [])
    }


def wait_until_ready(control_plane: str, names: list[str], say) -> None:
    """Return once every node of ``names`` is Ready; CaptureError after READY_WAIT_SECONDS."""
    deadline = time.monotonic() + READY_WAIT_SECONDS
    waiting_said = False
    while True:
        try:
            states, unanswered = ready_states(control_plane), ""
        except (CaptureError, ValueError) as failed:
            states, unanswered = {}, f" (the API server did not list them: {failed})"
        waiting = [name for name in names if states.get(name) != "True"]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            named = ", ".join(f"{name} (Ready: {states.get(name, 'not registered')})" for name in waiting)
            raise CaptureError(
                f"not every node is Ready after {READY_WAIT_SECONDS}s: {named}{unanswered}; a snapshot is taken of a "
                "Ready cluster only (kubectl get nodes says why not), nothing was captured"
            )
        if not waiting_said:
            say(f"waiting for {', '.join(waiting)} to be Ready")
            waiting_said = True
        time.sleep(READY_LOOK_SECONDS)


def _node_ip(container: dict, cluster: str) -> str:
    networks = container["NetworkSettings"]["Networks"]
    return (networks.get(cluster) or next(iter(networks.values())))["IPAddress"]


def _var_volume(container: dict) -> str:
    return next(m["Name"] for m in container["Mounts"] if m["Destination"] == "/var" and m["Type"] == "volume")


def describe(cluster: str, name: str, nodes: list[dict]) -> Snapshot:
    control_plane = nodes[0]["Name"].lstrip("/")
    documents = list(yaml.safe_load_all(docker("exec", control_plane, "cat", "/etc/kindling/kubeadm.yaml")))
    by_kind = {d["kind"]: d for d in documents if d}
    namespaces = docker(
        "exec", control_plane, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "ns", "-o", "name"
    ).split()
    cni = next(
        (c for c, ns in (("flannel", "kube-flannel"), ("calico", "calico-system")) if f"namespace/{ns}" in namespaces),
        "none",
    )
    return Snapshot(
        name=name,
        release=by_kind["ClusterConfiguration"]["kubernetesVersion"].removeprefix("v"),
        cluster=cluster,
        created=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        pod_subnet=by_kind["ClusterConfiguration"]["networking"]["podSubnet"],
        service_subnet=by_kind["ClusterConfiguration"]["networking"]["serviceSubnet"],
        cni=cni,
        kube_proxy_mode=by_kind.get("KubeProxyConfiguration", {}).get("mode", "iptables"),
        nodes=tuple(
            SnapshotNode(c["Config"]["Labels"][LABEL_ROLE], c["Name"].lstrip("/"), _node_ip(c, cluster)) for c in nodes
        ),
    )


def _dockerfile(base: str, snapshot: Snapshot, index: int) -> str:
    labels = {LABEL_SNAPSHOT: snapshot.name, LABEL_NODE: str(index), LABEL_MANIFEST: snapshot.manifest()}
    return "\n".join(
        [
            f"FROM {base}",
            f"RUN rm -f {KUBELET_WANTS} && : > /etc/machine-id",
            *(f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()),
            "",
        ]
    )


# etcd's next WAL segment, made ahead of need (64 MB, its 124-142 MB of data in a small cluster): etcd makes
# it again when it starts, so the snapshot leaves it out, and every restore's fill copies that much less.
PREALLOCATED_WAL = "lib/etcd/member/wal/*.tmp"
# Copies directory $1 into $2 (a node's /var), owners, modes and extended attributes (overlay's among them)
# kept, without the preallocated segment.
COPY_VAR = f'cp -a "$1/." "$2/" && rm -f "$2"/{PREALLOCATED_WAL}'


def copy_volume(source: str, target: str, image: str) -> None:
    """Copy a node's /var volume into a snapshot's volume (COPY_VAR)."""
    docker(
        "run", "--rm", "--network", "none", "--cap-add", "SYS_ADMIN", "--mount", HELPER_VAR_MOUNT,
        "--entrypoint", "sh", "-v", f"{source}:/from:ro", "-v", f"{target}:/to", image,
        "-c", COPY_VAR, "copy-var", "/from", "/to",
    )  # fmt: skip


def write_out(volumes: list[str], image: str) -> None:
    """Have the engine's host write the snapshot's volumes to disk (sync -f of each one's filesystem). Their
    copies (a gigabyte for a control plane and a worker) went through its page cache, to be written back in
    the next seconds, maybe while the first restore starts, whose etcd then waits behind that; and a snapshot
    said to be made should be on disk."""
    mounts = [f"--volume={volume}:/{index}" for index, volume in enumerate(volumes)]
    paths = [f"/{index}" for index in range(len(volumes))]
    docker(
        "run", "--rm", "--network", "none", "--mount", HELPER_VAR_MOUNT, "--entrypoint", "sync", *mounts, image,
        "-f", *paths,
    )  # fmt: skip


def capture(cluster: str, name: str, say=print) -> Snapshot:
    nodes = cluster_nodes(cluster)
    snapshot = describe(cluster, name, nodes)
    if snapshot.control_planes != 1:
        raise CaptureError(f"{cluster} has {snapshot.control_planes} control planes; snapshots take one for now")
    names = [node.name for node in snapshot.nodes]
    wait_until_ready(names[0], names, say)
    commits: list[str] = []
    done = False
    try:
        say(f"pausing {', '.join(names)}")
        docker("pause", *names)
        try:
            for index, container in enumerate(nodes):
                commits.append(docker("commit", "--pause=false", names[index]).strip())
                volume = var_volume_name(name, index)
                docker("volume", "create", "--label", f"{LABEL_SNAPSHOT}={name}", volume)
                say(f"copying {names[index]}'s /var into volume {volume}")
                copy_volume(_var_volume(container), volume, commits[-1])
        finally:
            docker("unpause", *names)
            say(f"unpaused {', '.join(names)}")
        for index, base in enumerate(commits):
            reference = image_reference(name, names[index], cluster)
            say(f"building {reference}")
            with tempfile.TemporaryDirectory() as context:
                (Path(context) / "Dockerfile").write_text(_dockerfile(base, snapshot, index))
                # The classic builder leaves no build cache behind.
                docker("build", "--quiet", "--tag", reference, context, env={**os.environ, "DOCKER_BUILDKIT": "0"})
        say("writing the snapshot's volumes to disk")
        write_out([var_volume_name(name, index) for index in range(len(nodes))], reference)
        done = True
    finally:
        for commit in commits:
            subprocess.run(["docker", "image", "rm", commit], capture_output=True)
        if not done:
            remove(name)
    return snapshot


def remove(name: str) -> list[str]:
    """Remove snapshot ``name``'s images and volumes; returns what was removed."""
    images = docker("image", "ls", "--quiet", "--filter", f"label={LABEL_SNAPSHOT}={name}").split()
    volumes = docker("volume", "ls", "--quiet", "--filter", f"label={LABEL_SNAPSHOT}={name}").split()
    for image in dict.fromkeys(images):
        subprocess.run(["docker", "image", "rm", "--force", image], capture_output=True)
    if volumes:
        subprocess.run(["docker", "volume", "rm", *volumes], capture_output=True)
    return [*dict.fromkeys(images), *volumes]
