"""kubeadm-init.sh and kubeadm-join-node.sh run again after an earlier attempt failed half way (a killed
`pulumi up`), as their Commands run them, with stand-in commands: the killed kubeadm stopped, kubeadm
reset, and the pods' containers removed through containerd by remove_pod_containers, whose one definition,
components/scripts/pod-containers.sh, travels with each script from the host (nothing of the node image's,
so a prebuilt image gets it too): in_node's and in_machine's library, and the join scripts'
KINDLING_NODE_SCRIPT_LIBRARY, on node containers and machines alike."""

import re
import subprocess

import pytest

from components.control_plane import POD_CONTAINERS
from components.machine_shell import in_machine, on_host_with_machines
from components.shell import SCRIPTS, ScriptCommand, in_node, node_script, on_host
from kindling.contract import CONTROL_PLANE_JOIN_SCRIPT, INIT_SCRIPT, JOIN_SCRIPT
from tests.support import ROOT
from tests.test_scripts import stand_ins
from tests.test_scripts_machines import run_command

JOIN_NODE_SCRIPT = "kubeadm-join-node.sh"
JOIN = "kubeadm join 10.0.0.2:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:feed"
KEY = "0123456789abcdef" * 4
RUNTIMES = ("container", "machine")
# What remove_pod_containers does, given the stand-in ctr's two tasks and two containers.
REMOVED = [
    "ctr --namespace k8s.io task ls --quiet",
    "ctr --namespace k8s.io task kill --signal SIGKILL task-a",
    "ctr --namespace k8s.io task delete --force task-a",
    "ctr --namespace k8s.io task kill --signal SIGKILL task-b",
    "ctr --namespace k8s.io task delete --force task-b",
    "ctr --namespace k8s.io container ls --quiet",
    "ctr --namespace k8s.io container delete container-a",
    "ctr --namespace k8s.io container delete container-b",
    "systemctl restart containerd",
]


class Host:
    """A host whose nodes, "cp" and "node-2", are node containers or machines (``runtime``): what runs in
    them runs here, with /etc below ``root``. An earlier kubeadm still runs (its `up` was killed): the first
    pkill finds it, the next none; its pods' containers are still in containerd, and there is no crictl."""

    def __init__(self, root, runtime: str):
        self.root, self.runtime = root, runtime
        self.log = root / "log"
        self.machines = root / "machines"
        self.machines.mkdir()
        for node in ("cp", "node-2"):
            (self.machines / f"{node}.nspawn-pid").write_text("4241\n")
        log, killed = self.log, root / "killed"
        self.env = stand_ins(
            root,
            {
                # docker exec [-i] NODE COMMAND...: COMMAND, here.
                "docker": f'[ "$1" = exec ] || exit 1; shift; [ "$1" = -i ] && shift; echo "into $1" >> {log}; '
                'shift; exec "$@"',
                "pgrep": "echo 4242",
                # nsenter OPTIONS -- /usr/bin/env -i NAME=VALUE... COMMAND...: COMMAND, here, with this PATH.
                "nsenter": f'echo "into $2" >> {log}; while [ "$1" != -- ]; do shift; done; shift 3; '
                'while case "$1" in *=*) true ;; *) false ;; esac; do shift; done; exec "$@"',
                "pkill": f'echo "pkill $*" >> {log}; [ -e {killed} ] && exit 1; touch {killed}',
                "kubeadm": f'echo "kubeadm $*" >> {log}; case "$*" in "token list") echo TOKEN ;; '
                f'*"token create"*) echo "{JOIN}" ;; *upload-certs*) echo "{KEY}" ;; esac',
                "kubectl": "exit 0",
                "ctr": f'echo "ctr $*" >> {log}; case "$*" in *"ls --quiet"*) echo "$3-a"; echo "$3-b";; esac',
                "systemctl": f'echo "systemctl $*" >> {log}',
            },
        )

    def left_behind(self, path: str) -> None:
        (self.root / path).parent.mkdir(parents=True)
        (self.root / path).write_text("left behind")

    def in_node(self, script: str, *args: str, library: str | None = None) -> ScriptCommand:
        if self.runtime == "container":
            return in_node("cp", script, *args, library=library)
        return in_machine(str(self.machines), "cp", script, *args, library=library)

    def on_host(self, script: str, *args: str, environment: dict[str, str]) -> ScriptCommand:
        if self.runtime == "container":
            return on_host(script, *args, environment=environment)
        return on_host_with_machines(str(self.machines), script, *args, environment=environment)

    def run(self, command: ScriptCommand, stdin: str = "") -> subprocess.CompletedProcess:
        """``command`` as the command provider runs it, its scripts writing below the scratch root."""
        scratch = {
            name: text.replace("/etc/", f"{self.root}/etc/").replace("/usr/local/lib/kindling/", f"{self.root}/lib/")
            for name, text in command.environment.items()
        }
        return run_command(ScriptCommand(command.create, scratch), self.env, stdin)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def in_the_node(self) -> list[str]:
        """What ran in the node, not on the control plane for the host-side join scripts."""
        control_plane = ("kubeadm token", "kubeadm init phase upload-certs", "into")
        return [call for call in self.calls() if not call.startswith(control_plane)]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_kubeadm_init_run_again_stops_the_killed_one_and_its_control_plane_first(tmp_path, runtime):
    host = Host(tmp_path, runtime)
    host.left_behind("etc/kubernetes/manifests/kube-apiserver.yaml")
    init = host.in_node(INIT_SCRIPT, "cp", "10.96.0.0/12", library=POD_CONTAINERS)
    result = host.run(init, stdin="kind: InitConfiguration\n")
    assert result.returncode == 0, result.stderr
    assert host.calls()[0] == ("into cp" if runtime == "container" else "into 4242"), "run in the node"
    assert host.in_the_node() == [
        "pkill -KILL -x kubeadm",
        "pkill -KILL -x kubeadm",
        "kubeadm reset --force",
        *REMOVED,
        f"kubeadm init --config {tmp_path}/etc/kindling/kubeadm.yaml --skip-phases=preflight --skip-token-print",
    ]


def test_a_first_kubeadm_init_touches_no_container(tmp_path):
    host = Host(tmp_path, "container")
    host.left_behind("unrelated/file")
    result = host.run(host.in_node(INIT_SCRIPT, "cp", "10.96.0.0/12", library=POD_CONTAINERS), stdin="kind: x\n")
    assert result.returncode == 0, result.stderr
    assert not [call for call in host.calls() if call.split()[0] in ("pkill", "ctr", "systemctl")]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("join", [JOIN_SCRIPT, CONTROL_PLANE_JOIN_SCRIPT])
def test_a_join_run_again_stops_the_killed_one_and_its_pods_first(tmp_path, runtime, join):
    host = Host(tmp_path, runtime)
    host.left_behind("etc/kubernetes/kubelet.conf")
    # As worker_join.py and control_plane_join.py give it: the node-side script, and its library.
    environment = node_script(JOIN_NODE_SCRIPT, library=POD_CONTAINERS)
    result = host.run(host.on_host(join, "cp", "node-2", "10.96.0.0/12", environment=environment), stdin="kind: x\n")
    assert result.returncode == 0, result.stderr
    assert ("into node-2" if runtime == "container" else "into 4242") in host.calls()
    assert host.in_the_node() == [
        "pkill -KILL -x kubeadm",
        "pkill -KILL -x kubeadm",
        "kubeadm reset --force",
        *REMOVED,
        f"kubeadm join --config {tmp_path}/etc/kindling/kubeadm-join.yaml --skip-phases=preflight",
    ]


def test_without_its_library_a_run_again_stops_at_the_missing_function(tmp_path):
    # Nothing in the scripts, or in the node, defines it: a Command that did not carry the library fails.
    host = Host(tmp_path, "container")
    host.left_behind("etc/kubernetes/manifests/kube-apiserver.yaml")
    result = host.run(host.in_node(INIT_SCRIPT, "cp", "10.96.0.0/12"), stdin="kind: x\n")
    assert result.returncode != 0
    assert "remove_pod_containers" in result.stderr
    assert not [call for call in host.calls() if call.startswith(("ctr", "kubeadm init"))]


def test_remove_pod_containers_is_defined_once_and_called_by_both_scripts():
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    ).stdout.splitlines()
    definition = re.compile(r"^\s*remove_pod_containers\s*\(\s*\)", re.MULTILINE)
    defining = [
        name
        for name in files
        if (ROOT / name).is_file() and definition.search((ROOT / name).read_text(errors="replace"))
    ]
    assert defining == [f"components/scripts/{POD_CONTAINERS}"]
    assert not [name for name in files if name.startswith("node-image/") and name.endswith(POD_CONTAINERS)]
    for script in (INIT_SCRIPT, JOIN_NODE_SCRIPT):
        lines = [line.strip() for line in (SCRIPTS / script).read_text().splitlines()]
        assert "remove_pod_containers" in lines, script
