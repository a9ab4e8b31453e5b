"""scripts/restore-control-plane.sh, run with stand-ins for the node's commands (kubeadm, kubectl, ctr, curl,
systemctl) that log what they get: what a restore does to etcd before the API server serves, and when the
controller manager starts."""

import json

from kindling.contract import RESTORE_WAITS
from tests.test_scripts import run, stand_ins

MANIFESTS = "etc/kubernetes/manifests"
# What kubeadm writes, as far as the script reads it: etcd's health address.
ETCD_MANIFEST = "    - --listen-metrics-urls=http://127.0.0.1:2381\n"
CONFIG = "localAPIEndpoint:\n  advertiseAddress: 10.0.0.5\n  bindPort: 6443\n"


# What etcd holds of pods: this node's mirrors (a same-name restore), the snapshot's other node's, and pods.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
MIRRORS = [f"/registry/pods/kube-system/{component}-cp" for component in COMPONENTS]
SNAPSHOTS_PODS = [
    "/registry/pods/kube-system/etcd-old-cp",
    "/registry/pods/kube-system/kube-proxy-x7k2p",
    "/registry/pods/kube-flannel/kube-flannel-ds-9qz4c",
    "/registry/pods/default/web-0",
]


# The pods the kubelet runs, as its /pods lists them: its static pods (from files, with their hashes) and a pod
# the API server gave it.
KUBELET_PODS = {
    "kind": "PodList",
    "apiVersion": "v1",
    "items": [
        {
            "metadata": {
                "name": f"{component}-cp",
                "namespace": "kube-system",
                "uid": f"{component}-hash",
                "annotations": {
                    "kubernetes.io/config.hash": f"{component}-hash",
                    "kubernetes.io/config.seen": "2026-12-05T20:01:02.5Z",
                    "kubernetes.io/config.source": "file",
                },
            },
            "spec": {"nodeName": "cp", "priorityClassName": "system-node-critical"},
            "status": {"phase": "Running"},
        }
        for component in COMPONENTS
    ]
    + [
        {
            "metadata": {
                "name": "coredns-7db6d8ff4d-x2x9k",
                "namespace": "kube-system",
                "annotations": {"kubernetes.io/config.source": "api"},
            },
            "spec": {"nodeName": "cp"},
        }
    ],
}


# What the restore rewrites through the API server: a namespace's CA, and (before 1.24) a token secret.
ROOT_CA = json.dumps({"items": [{"metadata": {"name": "kube-root-ca.crt", "namespace": "default"}, "data": {}}]})
TOKEN_SECRET = json.dumps({"items": [{"metadata": {"name": "default-token-x", "namespace": "default"}, "data": {}}]})


def restore(
    tmp_path,
    readyz_failures: int,
    pods: list[str] = MIRRORS + SNAPSHOTS_PODS,
    made: tuple[str, ...] = (),
    priority_classes_pending: bool = False,
    controller_manager_held: bool = True,
    unmirrored: tuple[str, ...] = (),
    kubelet_answers: bool = True,
):
    log = tmp_path / "log"
    manifests = tmp_path / MANIFESTS
    held = f"{manifests}/kube-controller-manager.yaml"
    # etcdctl's --keys-only: each key, then a blank line.
    (tmp_path / "keys").write_text("".join(f"{key}\n\n" for key in pods))
    mirrors = {
        "items": [
            {
                "metadata": {
                    "name": f"{component}-cp",
                    "namespace": "kube-system",
                    "annotations": {"kubernetes.io/config.mirror": "x"},
                },
                "spec": {"nodeName": "cp"},
            }
            for component in COMPONENTS
        ]
        # Pods the controller manager made while the cluster's records were still being rewritten.
        + [{"metadata": {"name": name, "namespace": "kube-system"}, "spec": {"nodeName": "cp"}} for name in made]
    }
    (tmp_path / "pods.json").write_text(json.dumps(mirrors))
    # The static pods whose mirrors the kubelet did not make: missing from the API until the restore makes them.
    if unmirrored:
        (tmp_path / "mirrored.json").write_text(json.dumps(mirrors))
        mirrors["items"] = [pod for pod in mirrors["items"] if pod["metadata"]["name"] not in unmirrored]
        (tmp_path / "pods.json").write_text(json.dumps(mirrors))
    (tmp_path / "kubelet-pods.json").write_text(json.dumps(KUBELET_PODS))
    # What restore-identity.sh leaves: the static pods' manifests, the controller manager's held.
    manifests.mkdir(parents=True)
    (manifests / "etcd.yaml").write_text(ETCD_MANIFEST)
    for component in ("kube-apiserver", "kube-scheduler"):
        (manifests / f"{component}.yaml").write_text("")
    (tmp_path / "etc/kindling").mkdir(parents=True)
    # Not held: a restore run again, after one that put it in place.
    kept_in = tmp_path / ("etc/kindling" if controller_manager_held else MANIFESTS)
    (kept_in / "kube-controller-manager.yaml").write_text("")
    (tmp_path / "etc/kubernetes/pki").mkdir(parents=True)
    (tmp_path / "etc/kubernetes/pki/ca.crt").write_text("the restore's CA\n")
    # Each of kubeadm's and kubectl's calls says whether the controller manager's manifest is in place.
    manager = f"controller manager $([ -e {held} ] && echo started || echo held)"
    kubeadm = f"""echo "kubeadm $*, {manager}" >> {log}"""
    # readyz fails readyz_failures times; every look says whether the controller manager's manifest is in place.
    # With priority_classes_pending, the API server's hook that makes the system priority classes never ends:
    # only a look that leaves it out can pass.
    curl = f"""case "$*" in
*/readyz*)
    echo "readyz, {manager}" >> {log}
    case "$*" in
    *"/readyz?exclude=poststarthook/scheduling/bootstrap-system-priority-classes") ;;
    *) [ {int(priority_classes_pending)} = 0 ] || exit 1 ;;
    esac
    n=$(cat {tmp_path}/readyz 2>/dev/null || echo 0); echo $((n + 1)) > {tmp_path}/readyz
    [ "$n" -ge {readyz_failures} ] ;;
*) echo "curl $*" >> {log} ;;
esac"""
    ctr = f"""case "$3 $4" in
"containers ls") echo etcd1 ;;
"task ls") echo "etcd1 100 RUNNING" ;;
"task exec")
    shift 7
    case "$*" in
    *"member list")
        # etcd answers its health before its clients: the first list fails.
        [ -e {tmp_path}/listed ] || {{ : > {tmp_path}/listed; echo "etcdctl member list: refused" >> {log}; exit 1; }}
        echo "8e9e05c52164694d, started, old-cp, https://10.0.0.9:2380, https://10.0.0.9:2379, false" ;;
    *"get /registry/pods/ --prefix --keys-only") cat {tmp_path}/keys ;;
    *txn) echo "etcdctl txn:" >> {log}; cat >> {log}; echo "etcdctl txn end" >> {log} ;;
    *) echo "etcdctl $*" >> {log} ;;
    esac ;;
esac"""
    kubectl = f"""echo "kubectl $*, {manager}" >> {log}
case "$*" in
*"get pods"*) cat {tmp_path}/pods.json ;;
*"get --raw /api/v1/nodes/cp/proxy/pods"*) [ {int(kubelet_answers)} = 1 ] && cat {tmp_path}/kubelet-pods.json ;;
*"get node cp -o jsonpath={{.metadata.uid}}"*) echo 6c1d2e0a-node-uid ;;
*"create -f -"*) cat > {tmp_path}/created.json; cp {tmp_path}/mirrored.json {tmp_path}/pods.json ;;
*"get configmaps"*) echo '{ROOT_CA}' ;;
*"get secrets"*) echo '{TOKEN_SECRET}' ;;
*"-o json"*) echo '{{"items": []}}' ;;
esac"""
    env = stand_ins(
        tmp_path,
        {
            "kubeadm": kubeadm,
            "curl": curl,
            "ctr": ctr,
            "kubectl": kubectl,
            "systemctl": f'echo "systemctl $*" >> {log}',
            "hostname": "echo cp",
        },
    )
    result = run(
        "restore-control-plane.sh",
        env,
        "10.0.0.9",
        "old-cp",
        "",
        stdin=CONFIG,
        root=tmp_path,
        library=[RESTORE_WAITS],
    )
    return result, log.read_text()


def transactions(log: str) -> list[list[str]]:
    """Each etcdctl txn's lines, up to the blank lines that end its parts."""
    bodies = [part.split("etcdctl txn end", 1)[0] for part in log.split("etcdctl txn:\n")[1:]]
    return [body.split("\n\n\n", 1)[0].splitlines() for body in bodies]


def test_etcd_forgets_the_snapshots_address_leaders_and_pods_in_one_transaction_once_it_answers(tmp_path):
    result, log = restore(tmp_path, readyz_failures=0)
    assert result.returncode == 0, result.stderr
    assert "etcdctl member list: refused" in log
    assert "member update 8e9e05c52164694d --peer-urls https://10.0.0.5:2380" in log
    assert transactions(log) == [
        [
            "",  # no condition
            "del /registry/masterleases/10.0.0.9",
            "del --prefix /registry/events/",  # they tell of the snapshot's nodes and pods
            "del --prefix /registry/leases/kube-system/apiserver-",  # its API server's identity
            "del --prefix /registry/leases/kube-system/kube-apiserver-",  # the same, as 1.26 named it
            "del /registry/leases/kube-system/kube-controller-manager",
            "del /registry/services/endpoints/kube-system/kube-controller-manager",
            "del /registry/leases/kube-system/kube-scheduler",
            "del /registry/services/endpoints/kube-system/kube-scheduler",
            # Every pod but the mirrors of this node's static pods: no kubelet starts one with the snapshot's
            # configuration, and the controller manager makes them anew.
            *(f"del {pod}" for pod in SNAPSHOTS_PODS),
        ]
    ]
    assert "curl -fs http://127.0.0.1:2381/health" in log, "etcd's health asked of its own health address"


def test_a_cluster_of_many_pods_forgets_them_in_transactions_below_etcds_limit(tmp_path):
    pods = [f"/registry/pods/default/web-{n}" for n in range(250)]
    result, log = restore(tmp_path, readyz_failures=0, pods=MIRRORS + pods)
    assert result.returncode == 0, result.stderr
    done = transactions(log)
    assert [len(lines) - 1 for lines in done] == [100, 100, 58]  # etcd refuses more than 128 by default
    assert [line for lines in done for line in lines if "/registry/pods/" in line] == [f"del {p}" for p in pods]


def test_the_controller_manager_starts_only_once_the_api_server_is_ready(tmp_path):
    result, log = restore(tmp_path, readyz_failures=2)
    assert result.returncode == 0, result.stderr
    looks = [line for line in log.splitlines() if line.startswith("readyz")]
    assert looks == ["readyz, controller manager held"] * 3
    assert (tmp_path / MANIFESTS / "kube-controller-manager.yaml").exists(), "in place when the restore ends"
    assert not (tmp_path / "etc/kindling/kube-controller-manager.yaml").exists()


def test_the_static_pods_and_kubelet_restore_identity_started_are_left_running(tmp_path):
    # Written again, the manifests would have the kubelet restart etcd and the API server it runs already.
    result, log = restore(tmp_path, readyz_failures=0)
    assert result.returncode == 0, result.stderr
    phases = [line.split(",")[0] for line in log.splitlines() if line.startswith("kubeadm init phase")]
    assert phases and not [p for p in phases if p.split()[3] in ("etcd", "control-plane", "kubelet-start")]
    assert not [line for line in log.splitlines() if line.startswith("systemctl") and "kubelet" in line]


def test_mirrors_the_kubelet_made_itself_are_not_made_again(tmp_path):
    result, log = restore(tmp_path, readyz_failures=0)
    assert result.returncode == 0, result.stderr
    assert "create -f -" not in log and "proxy/pods" not in log


def test_mirrors_the_kubelet_did_not_make_are_made_as_its_mirror_client_does_without_a_restart(tmp_path):
    # A kubelet before 1.32 makes etcd's and the scheduler's mirrors only at their next sync, 10 s or more on;
    # restarted to make them, it would probe its pods at random for ten seconds more.
    result, log = restore(tmp_path, readyz_failures=0, unmirrored=("etcd-cp", "kube-scheduler-cp"))
    assert result.returncode == 0, result.stderr
    created = json.loads((tmp_path / "created.json").read_text())
    assert created["kind"] == "List"
    assert [pod["metadata"]["name"] for pod in created["items"]] == ["etcd-cp", "kube-scheduler-cp"]
    for pod in created["items"]:
        component = pod["metadata"]["name"].removesuffix("-cp")
        assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
        assert pod["metadata"]["annotations"] == {
            "kubernetes.io/config.hash": f"{component}-hash",
            "kubernetes.io/config.mirror": f"{component}-hash",  # what the kubelet matches its static pod by
            "kubernetes.io/config.seen": "2026-12-05T20:01:02.5Z",
            "kubernetes.io/config.source": "file",
        }
        assert pod["metadata"]["ownerReferences"] == [
            {"apiVersion": "v1", "kind": "Node", "name": "cp", "uid": "6c1d2e0a-node-uid", "controller": True}
        ]
        assert "uid" not in pod["metadata"] and "status" not in pod, "the API server's to give"
        assert pod["spec"] == {"nodeName": "cp", "priorityClassName": "system-node-critical"}
    assert not [line for line in log.splitlines() if line.startswith("systemctl") and "kubelet" in line]


def test_a_kubelet_that_cannot_be_asked_for_its_pods_is_restarted_to_make_its_mirrors(tmp_path):
    result, log = restore(tmp_path, readyz_failures=0, unmirrored=("etcd-cp",), kubelet_answers=False)
    assert result.returncode == 0, result.stderr
    assert "systemctl restart kubelet" in log
    assert "still missing: its kubelet is restarted" in result.stderr
    assert not (tmp_path / "created.json").exists()


def test_a_restore_run_again_finds_the_controller_manager_in_place(tmp_path):
    result, _ = restore(tmp_path, readyz_failures=0, controller_manager_held=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / MANIFESTS / "kube-controller-manager.yaml").exists()


def test_the_controller_manager_does_not_wait_for_the_system_priority_classes_hook(tmp_path):
    # The classes are in the snapshot's etcd; the hook that makes them looks once a second, and held
    # /readyz a second beyond the rest of the API server.
    result, log = restore(tmp_path, readyz_failures=1, priority_classes_pending=True)
    assert result.returncode == 0, result.stderr
    looks = [line for line in log.splitlines() if line.startswith("readyz")]
    assert looks == ["readyz, controller manager held"] * 2
    assert (tmp_path / MANIFESTS / "kube-controller-manager.yaml").exists()


def test_pods_made_before_the_clusters_records_are_the_restores_are_made_anew(tmp_path):
    result, log = restore(tmp_path, readyz_failures=0, made=("kube-proxy-made-early",))
    assert result.returncode == 0, result.stderr
    deletions = [line for line in log.splitlines() if " delete pods " in line]
    assert len(deletions) == 1
    assert "kube-proxy-made-early" in deletions[0] and "-cp" not in deletions[0].split(" delete pods ")[1]


def test_when_none_was_made_yet_no_pod_is_deleted_through_the_api_server(tmp_path):
    result, log = restore(tmp_path, readyz_failures=0)
    assert result.returncode == 0, result.stderr
    assert not [line for line in log.splitlines() if " delete pods " in line]


def test_kubeadms_configuration_is_made_anew_not_updated(tmp_path):
    # Updated, kubeadm's ClusterStatus (before 1.22) would keep the snapshot's control plane beside this one.
    result, log = restore(tmp_path, readyz_failures=0)
    assert result.returncode == 0, result.stderr
    lines = log.splitlines()
    deleted = [n for n, line in enumerate(lines) if "delete configmap kubeadm-config" in line]
    uploaded = [n for n, line in enumerate(lines) if line.startswith("kubeadm init phase upload-config kubeadm ")]
    assert len(deleted) == 1 and len(uploaded) == 1 and deleted[0] < uploaded[0], log
    assert "--namespace kube-system delete configmap kubeadm-config --ignore-not-found" in lines[deleted[0]]
