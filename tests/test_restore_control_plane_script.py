"""scripts/restore-control-plane.sh, run with stand-ins for the node's commands (kubeadm, kubectl, ctr, curl,
systemctl) that log what they get: what a restore does to etcd before the API server serves, and when the
controller manager starts."""

import json

from tests.test_scripts import run, stand_ins

MANIFESTS = "etc/kubernetes/manifests"
# What kubeadm writes, as far as the script reads it: etcd's health address.
ETCD_MANIFEST = "    - --listen-metrics-urls=http://127.0.0.1:2381\n"
CONFIG = "localAPIEndpoint:\n  advertiseAddress: 10.0.0.5\n  bindPort: 6443\n"


def restore(tmp_path, readyz_failures: int):
    log = tmp_path / "log"
    manifests = tmp_path / MANIFESTS
    held = f"{manifests}/kube-controller-manager.yaml"
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
            for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
        ]
    }
    (tmp_path / "pods.json").write_text(json.dumps(mirrors))
    kubeadm = f"""echo "kubeadm $*" >> {log}
mkdir -p {manifests}
case "$3 $4" in
"etcd local") printf '%s' '{ETCD_MANIFEST}' > {manifests}/etcd.yaml ;;
"control-plane all") for c in kube-apiserver kube-controller-manager kube-scheduler; do : > {manifests}/$c.yaml; done ;;
esac"""
    # readyz fails readyz_failures times; every look says whether the controller manager's manifest is in place.
    curl = f"""case "$*" in
*/readyz*)
    echo "readyz, controller manager $([ -e {held} ] && echo started || echo held)" >> {log}
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
    *txn) echo "etcdctl txn:" >> {log}; cat >> {log} ;;
    *) echo "etcdctl $*" >> {log} ;;
    esac ;;
esac"""
    kubectl = f"""echo "kubectl $*" >> {log}
case "$*" in
*"get pods"*) cat {tmp_path}/pods.json ;;
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
    result = run("restore-control-plane.sh", env, "10.0.0.9", "old-cp", "", stdin=CONFIG, root=tmp_path)
    return result, log.read_text()


def test_etcd_forgets_the_snapshots_address_and_leaders_in_one_transaction_once_it_answers(tmp_path):
    result, log = restore(tmp_path, readyz_failures=0)
    assert result.returncode == 0, result.stderr
    assert "etcdctl member list: refused" in log
    assert "member update 8e9e05c52164694d --peer-urls https://10.0.0.5:2380" in log
    transaction = log.split("etcdctl txn:\n", 1)[1].split("\n\n\n", 1)[0]
    assert transaction.splitlines() == [
        "",  # no condition
        "del /registry/masterleases/10.0.0.9",
        "del /registry/leases/kube-system/kube-controller-manager",
        "del /registry/services/endpoints/kube-system/kube-controller-manager",
        "del /registry/leases/kube-system/kube-scheduler",
        "del /registry/services/endpoints/kube-system/kube-scheduler",
    ]
    assert "curl -fs http://127.0.0.1:2381/health" in log, "etcd's health asked of its own health address"


def test_the_controller_manager_starts_only_once_the_api_server_is_ready(tmp_path):
    result, log = restore(tmp_path, readyz_failures=2)
    assert result.returncode == 0, result.stderr
    looks = [line for line in log.splitlines() if line.startswith("readyz")]
    assert looks == ["readyz, controller manager held"] * 3
    assert (tmp_path / MANIFESTS / "kube-controller-manager.yaml").exists(), "in place when the restore ends"
    assert not (tmp_path / "etc/kindling/kube-controller-manager.yaml").exists()
