"""The snapshot e2e's look at a restored cluster's events: which tell of the snapshot's nodes."""

from tests.e2e.restores import events_naming

SNAPSHOT_NODES = ["k8s-1-24-0-control-plane", "k8s-1-24-0-worker-1"]


def event(kind: str, name: str, reason: str, message: str = "", host: str = "") -> dict:
    return {
        "involvedObject": {"kind": kind, "name": name},
        "reason": reason,
        "message": message,
        "source": {"host": host},
    }


def test_events_of_the_snapshots_nodes_and_their_pods_are_found():
    # As a restore of k8s-1-24-0 under the name k8s-1-24-0-r1 listed them, before the restore deleted them.
    events = {
        "items": [
            event(
                "Node",
                "k8s-1-24-0-control-plane",
                "NodeReady",
                "Node k8s-1-24-0-control-plane status is now: NodeReady",
            ),
            event("Pod", "etcd-k8s-1-24-0-control-plane", "NodeNotReady", "Node is not ready"),
            event(
                "Pod",
                "kube-proxy-9j74n",
                "Scheduled",
                "Successfully assigned kube-system/kube-proxy-9j74n to k8s-1-24-0-worker-1",
            ),
            event(
                "Pod", "kube-proxy-rz2wg", "Pulled", "Container image already present", host="k8s-1-24-0-control-plane"
            ),
        ]
    }
    assert events_naming(events, SNAPSHOT_NODES) == [
        "Node k8s-1-24-0-control-plane: NodeReady",
        "Pod etcd-k8s-1-24-0-control-plane: NodeNotReady",
        "Pod kube-proxy-9j74n: Scheduled",
        "Pod kube-proxy-rz2wg: Pulled",
    ]


def test_the_restored_clusters_own_events_are_not():
    # Its names begin as the snapshot's do, and a node name may be continued by another's.
    events = {
        "items": [
            event(
                "Node",
                "k8s-1-24-0-r1-control-plane",
                "Starting",
                "Starting kubelet.",
                host="k8s-1-24-0-r1-control-plane",
            ),
            event("Pod", "etcd-k8s-1-24-0-r1-control-plane", "Started", "Started container etcd"),
            event("Pod", "web-0", "Scheduled", "Successfully assigned default/web-0 to k8s-1-24-0-worker-12"),
            event("Node", "k8s-1-24-0-control-plane-2", "RegisteredNode", "Registered Node k8s-1-24-0-control-plane-2"),
        ]
    }
    assert events_naming(events, SNAPSHOT_NODES) == []
