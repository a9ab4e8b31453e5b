"""Snapshots of initialised clusters (`make snapshot`): what one holds, and whether a stack can start from it.

A snapshot is, per node of a running kindling cluster, a local Docker image (its root filesystem as
`docker commit` sees it) and a Docker volume (a copy of its `/var` volume, which a commit leaves out).
Each image carries the same manifest in a label: the release, the nodes (role, name and address in the
cluster the snapshot was taken of), and the settings that live on in the cluster's etcd and so cannot
differ in a restore (subnets, the pod network, kube-proxy's mode). No credential is in the manifest;
the images hold the source cluster's keys, which every restore replaces
(components/scripts/restore-identity.sh).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from kindling.config import NAMESPACE, SpecError

if TYPE_CHECKING:
    from kindling.spec import ClusterSpec

LABEL_SNAPSHOT = "kindling.snapshot"
LABEL_MANIFEST = "kindling.snapshot.manifest"
LABEL_NODE = "kindling.snapshot.node"
IMAGE_REPOSITORY = "kindling-snapshot"


def var_volume_name(name: str, index: int) -> str:
    """The volume holding node ``index``'s /var in snapshot ``name``."""
    return f"{IMAGE_REPOSITORY}-{name}-{index}-var"


def image_reference(name: str, node_name: str, cluster: str) -> str:
    """``kindling-snapshot/<name>:<role suffix>``: control-plane, worker-1, ... (the node's name in its cluster)."""
    return f"{IMAGE_REPOSITORY}/{name}:{node_name.removeprefix(cluster + '-')}"


@dataclass(frozen=True)
class SnapshotNode:
    role: str  # control-plane or worker
    name: str  # its name (container, hostname, Kubernetes node) in the snapshot's cluster
    ip: str
    image: str = ""  # the snapshot image's id, filled in when read back from Docker
    volume: str = ""  # the volume with its /var, likewise


@dataclass(frozen=True)
class Snapshot:
    name: str
    release: str
    cluster: str
    created: str
    pod_subnet: str
    service_subnet: str
    cni: str
    kube_proxy_mode: str
    nodes: tuple[SnapshotNode, ...]
    size_bytes: int = 0

    @property
    def workers(self) -> int:
        return sum(node.role == "worker" for node in self.nodes)

    @property
    def control_planes(self) -> int:
        return sum(node.role == "control-plane" for node in self.nodes)

    def reference(self, index: int) -> str:
        return image_reference(self.name, self.nodes[index].name, self.cluster)

    def manifest(self) -> str:
        document = asdict(self)
        document.pop("size_bytes")
        document["nodes"] = [{k: node[k] for k in ("role", "name", "ip")} for node in document["nodes"]]
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_manifest(cls, text: str) -> Snapshot:
        document = json.loads(text)
        document["nodes"] = tuple(SnapshotNode(**node) for node in document["nodes"])
        return cls(**document)


def list_snapshots() -> dict[str, Snapshot]:
    """Every snapshot on the Docker engine, by name, with each node's image id (ordered as the manifest)."""
    listed = subprocess.run(
        ["docker", "image", "ls", "--quiet", "--no-trunc", "--filter", f"label={LABEL_SNAPSHOT}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ids = sorted(set(listed.stdout.split()))
    if listed.returncode != 0 or not ids:
        return {}
    shown = subprocess.run(["docker", "image", "inspect", *ids], capture_output=True, text=True, timeout=60)
    images: dict[str, dict[int, tuple[str, int]]] = {}
    manifests: dict[str, str] = {}
    for image in json.loads(shown.stdout or "[]"):
        labels: dict[str, Any] = image["Config"].get("Labels") or {}
        name = labels.get(LABEL_SNAPSHOT)
        if not name or LABEL_MANIFEST not in labels:
            continue
        manifests[name] = labels[LABEL_MANIFEST]
        images.setdefault(name, {})[int(labels.get(LABEL_NODE, 0))] = (image["Id"], int(image.get("Size", 0)))
    volumes = set(
        subprocess.run(
            ["docker", "volume", "ls", "--quiet", "--filter", f"label={LABEL_SNAPSHOT}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout.split()
    )
    found = {}
    for name, text in manifests.items():
        snapshot = Snapshot.from_manifest(text)
        nodes = tuple(
            SnapshotNode(n.role, n.name, n.ip, images[name].get(i, ("", 0))[0], var_volume_name(name, i))
            for i, n in enumerate(snapshot.nodes)
        )
        # A snapshot half made or half removed is none.
        if all(node.image and node.volume in volumes for node in nodes):
            size = sum(size for _, size in images[name].values())
            found[name] = Snapshot(**{**snapshot.__dict__, "nodes": nodes, "size_bytes": size})
    return found


def _allowed(snapshots: dict[str, Snapshot], release: str) -> str:
    fitting = sorted(name for name, snapshot in snapshots.items() if snapshot.release == release)
    if fitting:
        return f"allowed: {', '.join(fitting)} (make snapshot-ls)"
    return (
        f"no snapshot of Kubernetes {release} exists; make one with make snapshot STACK=<a running stack of {release}>"
    )


def snapshot_problems(spec: ClusterSpec, name: str, snapshots: dict[str, Snapshot]) -> list[str]:
    """Why ``spec`` cannot start from snapshot ``name``: one line per problem, each naming its key."""
    key = f"{NAMESPACE}:snapshot"
    release = str(spec.kubernetes)
    snapshot = snapshots.get(name)
    if snapshot is None:
        return [f"{key}: no snapshot named {name!r} on this Docker engine; {_allowed(snapshots, release)}"]
    if snapshot.release != release:
        return [
            f"{key}: {name!r} is a cluster of Kubernetes {snapshot.release}, but {NAMESPACE}:kubernetesVersion is "
            f"{release}; {_allowed(snapshots, release)}"
        ]
    # What lives on in the snapshot's etcd and its nodes, and so must be the same in the stack.
    must_match = {
        "workers": (spec.workers, snapshot.workers),
        "controlPlanes": (spec.control_planes, snapshot.control_planes),
        "podSubnet": (str(spec.pod_subnet), snapshot.pod_subnet),
        "serviceSubnet": (str(spec.service_subnet), snapshot.service_subnet),
        "cni": (spec.cni, snapshot.cni),
        "kubeProxyMode": (spec.kube_proxy_mode, snapshot.kube_proxy_mode),
    }
    problems = [
        f"{NAMESPACE}:{setting}: got {ours!r}, but snapshot {name!r} was taken with {theirs!r}; "
        f"allowed: {theirs!r} (what {key} restores)"
        for setting, (ours, theirs) in must_match.items()
        if ours != theirs
    ]
    if spec.node_image:
        problems.append(
            f"{NAMESPACE}:nodeImage: a stack restored from {key} {name!r} runs the snapshot's images; unset it"
        )
    return problems


def with_snapshot(spec: ClusterSpec) -> ClusterSpec:
    """The spec with the snapshot it starts from (unchanged without ``kindling:snapshot``); raises SpecError
    when the snapshot does not exist on this engine or does not fit the stack."""
    if spec.snapshot_name is None:
        return spec
    snapshots = list_snapshots()
    problems = snapshot_problems(spec, spec.snapshot_name, snapshots)
    if problems:
        raise SpecError(problems)
    return dataclasses.replace(spec, snapshot=snapshots[spec.snapshot_name])
