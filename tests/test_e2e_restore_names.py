"""The snapshot e2e's looks at a restored cluster's objects: which still name the snapshot's nodes, and which static
pods are not listed."""

from tests.e2e.restores import objects_naming, static_pods, unmirrored

SNAPSHOT_NODES = ["k8s-1-19-1-control-plane", "k8s-1-19-1-worker-1"]


def event(name: str, reason: str, message: str = "", host: str = "") -> dict:
    return {
        "kind": "Event",
        "metadata": {"name": f"{name}.187e", "namespace": "kube-system"},
        "involvedObject": {"name": name},
        "reason": reason,
        "message": message,
        "source": {"host": host},
    }


def kubeadm_config(*control_planes: str) -> dict:
    endpoints = "".join(f"  {node}:\n    advertiseAddress: 172.18.0.2\n" for node in control_planes)
    return {
        "kind": "ConfigMap",
        "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
        "data": {"ClusterStatus": f"apiEndpoints:\n{endpoints}kind: ClusterStatus\n"},
    }


def test_what_the_snapshots_cluster_left_is_found():
    # As a restore of k8s-1-19-1 under the name k8s-1-19-1-r1 could hold them.
    listed = {
        "items": [
            event("k8s-1-19-1-control-plane", "NodeReady", "Node k8s-1-19-1-control-plane status is now: NodeReady"),
            event("etcd-k8s-1-19-1-control-plane", "NodeNotReady", "Node is not ready"),
            event(
                "kube-proxy-9j74n",
                "Scheduled",
                "Successfully assigned kube-system/kube-proxy-9j74n to k8s-1-19-1-worker-1",
            ),
            event("kube-proxy-rz2wg", "Pulled", "Container image already present", host="k8s-1-19-1-control-plane"),
            kubeadm_config("k8s-1-19-1-control-plane", "k8s-1-19-1-r1-control-plane"),
            {"kind": "Lease", "metadata": {"name": "k8s-1-19-1-worker-1", "namespace": "kube-node-lease"}},
        ]
    }
    assert objects_naming(listed, SNAPSHOT_NODES) == [
        "Event kube-system/k8s-1-19-1-control-plane.187e",
        "Event kube-system/etcd-k8s-1-19-1-control-plane.187e",
        "Event kube-system/kube-proxy-9j74n.187e",
        "Event kube-system/kube-proxy-rz2wg.187e",
        "ConfigMap kube-system/kubeadm-config",
        "Lease kube-node-lease/k8s-1-19-1-worker-1",
    ]


def test_the_restored_clusters_own_objects_are_not():
    # Its names begin as the snapshot's do, and a node name may be continued by another's.
    listed = {
        "items": [
            event("k8s-1-19-1-r1-control-plane", "Starting", "Starting kubelet.", host="k8s-1-19-1-r1-control-plane"),
            event("etcd-k8s-1-19-1-r1-control-plane", "Started", "Started container etcd"),
            event("web-0", "Scheduled", "Successfully assigned default/web-0 to k8s-1-19-1-worker-12"),
            event("k8s-1-19-1-control-plane-2", "RegisteredNode", "Registered Node k8s-1-19-1-control-plane-2"),
            kubeadm_config("k8s-1-19-1-r1-control-plane"),
            {"kind": "Node", "metadata": {"name": "k8s-1-19-1-r1-worker-1"}},
        ]
    }
    assert objects_naming(listed, SNAPSHOT_NODES) == []


def kubelets_pod(name: str, source: str, config_hash: str = "") -> dict:
    annotations = {"kubernetes.io/config.source": source}
    if config_hash:
        annotations["kubernetes.io/config.hash"] = config_hash
    return {"metadata": {"name": name, "namespace": "kube-system", "annotations": annotations}}


def mirror(name: str, of_hash: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "kube-system", "annotations": {"kubernetes.io/config.mirror": of_hash}}
    }


def test_a_static_pod_is_listed_only_by_a_mirror_of_the_hash_its_kubelet_runs():
    running = {
        "items": [
            kubelets_pod("etcd-r1-control-plane", "file", "a1"),
            kubelets_pod("kube-apiserver-r1-control-plane", "file", "b2"),
            kubelets_pod("kube-scheduler-r1-control-plane", "file", "c3"),
            kubelets_pod("coredns-5d78c9869d-8xk2p", "api"),  # the API server's, not the kubelet's to list
        ]
    }
    listed = {
        "items": [
            mirror("etcd-r1-control-plane", "a1"),
            mirror("kube-apiserver-r1-control-plane", "0ld"),  # the snapshot's: the kubelet would delete it
            {"metadata": {"name": "coredns-5d78c9869d-8xk2p", "namespace": "kube-system"}},
        ]
    }
    assert unmirrored(running, listed) == [
        "kube-system/kube-apiserver-r1-control-plane",
        "kube-system/kube-scheduler-r1-control-plane",
    ]
    listed["items"][1] = mirror("kube-apiserver-r1-control-plane", "b2")
    listed["items"].append(mirror("kube-scheduler-r1-control-plane", "c3"))
    assert unmirrored(running, listed) == []
    assert [pod["metadata"]["name"] for pod in static_pods(running)] == [
        "etcd-r1-control-plane",
        "kube-apiserver-r1-control-plane",
        "kube-scheduler-r1-control-plane",
    ]
