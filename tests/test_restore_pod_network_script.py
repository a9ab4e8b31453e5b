"""scripts/restore-pod-network.sh, with stand-ins for docker (whose exec into the node runs here) and for the
node's systemctl (which names the kubelet's process): a restored node's hold is lifted only once its pod
network serves and its kubelet has run long enough that the pods placed there are probed at once (a
kubelet delays the first probe of what it gets in its first ten seconds at random, CoreDNS's Ready with it)."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from components.shell import SCRIPTS
from tests.test_scripts import stand_ins


def kubelet_age(pid: int) -> float:
    """How long process ``pid`` has run, as the script reckons it (clock ticks since boot, against the uptime)."""
    start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    return float(Path("/proc/uptime").read_text().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK")


def start_lift(tmp_path, kubelet: Path, ready: Path, journal: dict[int, float] | None = None):
    """Runs the script; the node's journal has, for each kubelet process in ``journal``, its "Started kubelet"
    line stamped at the given time (seconds since the epoch). Returns the script's process and its log."""
    log = tmp_path / "log"
    # Each process's line; asked for no one process (as for the unit), every line, the oldest first.
    said = {
        pid: f'echo "{stamp:.6f} r-worker-1 kubelet[{pid}]: I1205 server.go:1289] \\"Started kubelet\\""'
        for pid, stamp in sorted((journal or {}).items(), key=lambda item: item[1])
    }
    lines = "".join(f"_PID={pid}) {line} ;;\n" for pid, line in said.items())
    journalctl = f"""echo "journalctl $*" >> {tmp_path}/journal-reads
case "$1" in
{lines}_PID=*) ;;
*) {"; ".join(said.values()) or ":"} ;;
esac"""
    docker = f"""[ "$1" = exec ] || exit 9
shift; node=$1; shift
case "$1" in
/bin/sh) exec "$@" ;;
*) echo "$node $*" >> {log} ;;
esac"""
    env = stand_ins(tmp_path, {"docker": docker, "systemctl": f"cat {kubelet}", "journalctl": journalctl})
    lift = subprocess.Popen(
        ["/bin/sh", str(SCRIPTS / "restore-pod-network.sh"), "r-control-plane", "r-worker-1", str(ready), "hold"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return lift, log


def lifted(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def young_kubelet(tmp_path):
    """A pod network that serves, and a kubelet process that has just started: (ready file, the file systemctl
    reads the kubelet's PID from, the process)."""
    ready = tmp_path / "subnet.env"
    ready.write_text("FLANNEL_SUBNET=10.244.1.1/24\n")
    young = subprocess.Popen(["sleep", "30"])
    kubelet = tmp_path / "kubelet-pid"
    kubelet.write_text(f"{young.pid}\n")
    yield ready, kubelet, young
    young.kill()


TAINT_LIFTED = "r-control-plane kubectl --kubeconfig /etc/kubernetes/admin.conf taint node r-worker-1 hold:NoSchedule-"


def test_without_its_started_line_the_hold_lifts_once_the_kubelet_has_run_11_s(tmp_path, young_kubelet):
    assert kubelet_age(1) >= 11, "this test needs a process 1 that has run at least 11 s"
    ready, kubelet, young = young_kubelet
    # No kubelet yet, then one that has just started: the network serves, and still nothing is lifted.
    kubelet.write_text("0\n")
    lift, log = start_lift(tmp_path, kubelet, ready)
    time.sleep(0.6)
    kubelet.write_text(f"{young.pid}\n")
    time.sleep(1.0)
    assert lift.poll() is None and lifted(log) == []
    # A kubelet that has run 11 s and more: lifted at the next look.
    kubelet.write_text("1\n")
    out, err = lift.communicate(timeout=10)
    assert lift.returncode == 0, err
    assert lifted(log) == [TAINT_LIFTED]
    assert out.strip() == "serving"


def test_the_hold_stays_until_the_pod_network_serves_whatever_the_kubelets_age(tmp_path):
    kubelet = tmp_path / "kubelet-pid"
    kubelet.write_text("1\n")
    ready = tmp_path / "subnet.env"
    lift, log = start_lift(tmp_path, kubelet, ready)
    time.sleep(1.0)
    assert lift.poll() is None and lifted(log) == []
    ready.write_text("FLANNEL_SUBNET=10.244.1.1/24\n")
    out, err = lift.communicate(timeout=10)
    assert out.strip() == "serving"
    assert lift.returncode == 0, err
    assert lifted(log) == [TAINT_LIFTED]


def test_the_hold_lifts_ten_seconds_after_the_kubelet_said_it_started(tmp_path, young_kubelet):
    # The kubelet makes its probe manager before it logs "Started kubelet": ten seconds after that line the
    # pods it gets are probed at once, whatever its process's age (here under a second).
    ready, kubelet, young = young_kubelet
    lift, log = start_lift(tmp_path, kubelet, ready, journal={young.pid: time.time() - 9.2})
    time.sleep(0.3)
    assert lift.poll() is None and lifted(log) == []
    out, err = lift.communicate(timeout=5)
    assert lift.returncode == 0, err
    assert lifted(log) == [TAINT_LIFTED]
    assert out.strip() == "serving"
    # The journal read once the line was found.
    assert (tmp_path / "journal-reads").read_text().splitlines() == [
        f"journalctl _PID={young.pid} -o short-unix --no-pager"
    ]


def test_a_restarted_kubelet_counts_from_its_own_start(tmp_path, young_kubelet):
    # A kubelet started again (a new process) delays its first probes anew: the line of the one before, first
    # in the unit's journal, counts no more.
    ready, kubelet, young = young_kubelet
    lift, log = start_lift(tmp_path, kubelet, ready, journal={1: time.time() - 60, young.pid: time.time() - 1})
    try:
        time.sleep(1.5)
        assert lift.poll() is None and lifted(log) == []
    finally:
        lift.kill()
