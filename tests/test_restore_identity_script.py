"""scripts/restore-identity.sh, run with stand-ins for the node's commands (kubeadm, systemctl, ctr) that log
what they get: the step starts with the node's container, while systemd still boots, and waits for what it
needs of the boot; once the keys are made and the boot has finished, it starts the kubelet."""

import subprocess

from components.shell import SCRIPTS
from kindling.contract import POD_NETWORK_HOLD_TAINT, RESTORE_WAITS, RESTORED_KUBELET
from tests.test_scripts import stand_ins


def identity(
    tmp_path,
    systemd_booting_looks: int,
    containerd_down_looks: int,
    running: str = "",
    boot_looks: int = 0,
    hold: str = "",
):
    """Runs the script; systemd answers after ``systemd_booting_looks`` looks, and says its boot is under way
    at ``boot_looks`` more; containerd holds the snapshot's dead containers c1-c3, and tasks ``running``
    (one per line: what a restore that failed half way left running); ``hold``: the pod network's taint."""
    log = tmp_path / "log"

    def answers_after(looks: int, name: str, answer: str) -> str:
        # Fails (printing what systemd prints before it answers) `looks` times, then answers.
        return f"""n=$(cat {tmp_path}/{name} 2>/dev/null || echo 0); echo $((n + 1)) > {tmp_path}/{name}
[ "$n" -ge {looks} ] || {{ echo "{name}: no answer" >> {log}; echo offline; exit 1; }}
{answer}"""

    # Once it answers: "starting" boot_looks times, then "running".
    booting = f"""m=$(cat {tmp_path}/booted 2>/dev/null || echo 0); echo $((m + 1)) > {tmp_path}/booted
[ "$m" -lt {boot_looks} ] || {{ echo running; exit 0; }}
echo "systemd: starting" >> {log}; echo starting; exit 1"""
    systemctl = f"""case "$1" in
is-system-running) {answers_after(systemd_booting_looks, "systemd", booting)} ;;
is-enabled) echo "systemctl $*" >> {log}; exit 1 ;;
*) echo "systemctl $*" >> {log} ;;
esac"""
    ctr = f"""case "$*" in
version) {answers_after(containerd_down_looks, "containerd", "exit 0")} ;;
*"task ls --quiet") echo "ctr $*" >> {log}; printf '{running}' ;;
*"container ls --quiet") echo "ctr $*" >> {log}; printf 'c1\\nc2\\nc3\\n' ;;
*) echo "ctr $*" >> {log} ;;
esac"""
    env = stand_ins(
        tmp_path,
        {
            # The service-account phase says which proxy it would ask the internet through.
            # The control plane's phase writes its static pods' manifests.
            "kubeadm": f"""echo "kubeadm $*" >> {log}
[ "$4" != sa ] || echo "sa through: ${{HTTPS_PROXY:-no proxy}} ${{https_proxy:-no proxy}}" >> {log}
if [ "$3 $4" = "control-plane all" ]; then
    manifests={tmp_path}/etc/kubernetes/manifests
    mkdir -p $manifests
    for c in kube-apiserver kube-controller-manager kube-scheduler; do : > $manifests/$c.yaml; done
fi""",
            "systemctl": systemctl,
            "ctr": ctr,
        },
    )
    # As the Command runs it: its library (pod-containers.sh, restore-waits.sh) ahead of the script, with
    # what it writes and removes below a scratch root.
    library = ("pod-containers.sh", RESTORE_WAITS, RESTORED_KUBELET, "restore-identity.sh")
    text = "".join((SCRIPTS / name).read_text() for name in library)
    for root in ("/etc/", "/var/lib/", "/run/"):
        text = text.replace(root, f"{tmp_path}{root}")
    result = subprocess.run(
        ["/bin/sh", "-c", text, "restore-identity.sh", hold],
        input="clusterName: r1\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result, log.read_text().splitlines()


def test_the_kubelets_state_is_asked_only_once_systemd_answers(tmp_path):
    result, log = identity(tmp_path, systemd_booting_looks=2, containerd_down_looks=0)
    assert result.returncode == 0, result.stderr
    assert log[:3] == ["systemd: no answer", "systemd: no answer", "systemctl is-enabled --quiet kubelet"]


def test_the_keys_are_made_while_containerd_starts_and_its_dead_containers_go_once_it_answers(tmp_path):
    result, log = identity(tmp_path, systemd_booting_looks=0, containerd_down_looks=3)
    assert result.returncode == 0, result.stderr
    assert log.count("containerd: no answer") == 3
    first_key = log.index(next(line for line in log if line.startswith("kubeadm init phase certs ca")))
    first_removal = log.index(next(line for line in log if line.startswith("ctr ")))
    assert first_key < first_removal
    assert log[first_removal - 1] == "containerd: no answer"
    assert "systemctl restart containerd" in log
    assert result.stdout.strip() == "new identity"


def test_the_service_account_key_is_made_without_asking_the_internet_for_a_release(tmp_path):
    # Without a configuration (before 1.31 it takes none), kubeadm's sa phase asks dl.k8s.io for the latest
    # release; a proxy that refuses at once (nothing listens on the node's port 9) keeps it on the node.
    result, log = identity(tmp_path, systemd_booting_looks=0, containerd_down_looks=0)
    assert result.returncode == 0, result.stderr
    assert "kubeadm init phase certs sa --cert-dir " + str(tmp_path) + "/etc/kubernetes/pki" in log
    assert "sa through: http://127.0.0.1:9 http://127.0.0.1:9" in log


def test_the_snapshots_dead_containers_go_in_one_call_and_containerd_forgets_them(tmp_path):
    result, log = identity(tmp_path, systemd_booting_looks=0, containerd_down_looks=0)
    assert result.returncode == 0, result.stderr
    removals = [line for line in log if line.startswith("ctr ") and " ls " not in line]
    assert removals == ["ctr --namespace k8s.io container delete c1 c2 c3"]
    assert log.index("systemctl restart containerd") > log.index(removals[0])


def test_containers_a_failed_restore_left_running_are_killed_before_they_go(tmp_path):
    result, log = identity(tmp_path, systemd_booting_looks=0, containerd_down_looks=0, running="c2\\n")
    assert result.returncode == 0, result.stderr
    removals = [line for line in log if line.startswith("ctr ") and " ls " not in line]
    assert removals[:2] == [
        "ctr --namespace k8s.io task kill --signal SIGKILL c2",
        "ctr --namespace k8s.io task delete --force c2",
    ]
    assert removals[2:] == [f"ctr --namespace k8s.io container delete c{n}" for n in (1, 2, 3)]
    assert "systemctl restart containerd" in log


def test_the_kubelet_starts_once_the_keys_are_made_and_the_boot_has_finished(tmp_path):
    result, log = identity(tmp_path, systemd_booting_looks=0, containerd_down_looks=0, boot_looks=3)
    assert result.returncode == 0, result.stderr
    started = log.index(next(line for line in log if line.startswith("kubeadm init phase kubelet-start")))
    made = ("kubeadm init phase certs", "kubeadm init phase kubeconfig")
    keys = [n for n, line in enumerate(log) if line.startswith(made)]
    booting = [n for n, line in enumerate(log) if line == "systemd: starting"]
    assert len(keys) == 12 and len(booting) == 3  # ten certificates, the service-account key, the kubeconfigs
    assert max(keys) < started and max(booting) < started
    # The static pods for the node, then the kubelet that runs them, enabled last (what a run again looks for).
    assert log.index(next(line for line in log if line.startswith("kubeadm init phase control-plane all"))) < started
    assert log[-1] == "systemctl enable kubelet"
    assert result.stdout.strip() == "new identity"


def test_the_controller_manager_is_held_and_the_node_registers_held_when_the_pod_network_holds(tmp_path):
    result, _ = identity(tmp_path, systemd_booting_looks=0, containerd_down_looks=0, hold=POD_NETWORK_HOLD_TAINT)
    assert result.returncode == 0, result.stderr
    manifests = tmp_path / "etc/kubernetes/manifests"
    assert sorted(path.name for path in manifests.iterdir()) == ["kube-apiserver.yaml", "kube-scheduler.yaml"]
    assert (tmp_path / "etc/kindling/kube-controller-manager.yaml").exists()
    registration = tmp_path / "run/systemd/system/kubelet.service.d/50-kindling-restore.conf"
    assert f"--register-with-taints={POD_NETWORK_HOLD_TAINT}:NoSchedule" in registration.read_text()


def test_without_a_hold_the_node_registers_as_any_node(tmp_path):
    registration = tmp_path / "run/systemd/system/kubelet.service.d/50-kindling-restore.conf"
    registration.parent.mkdir(parents=True)
    registration.write_text("left by a restore with a hold\n")
    result, _ = identity(tmp_path, systemd_booting_looks=0, containerd_down_looks=0)
    assert result.returncode == 0, result.stderr
    assert not registration.exists()
