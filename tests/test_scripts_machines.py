"""The scripts of systemd-nspawn machines, run with stand-in commands (ip, iptables, nsenter, pgrep)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from components.machine_network import RULES
from components.machine_shell import in_machine, on_host_with_machines
from components.shell import SCRIPTS, on_host, script
from tests.test_scripts import run as run_script
from tests.test_scripts import stand_ins


def run_command(command, env, stdin=""):
    """A ScriptCommand as the command provider runs it: its create line, with its environment."""
    return subprocess.run(
        ["/bin/sh", "-c", command.create],
        input=stdin,
        env={**env, **command.environment},
        capture_output=True,
        text=True,
        timeout=30,
    )


def machine_host(tmp_path, log):
    """A host without systemd whose machine "node-1" has the leader 4242 (the child of systemd-nspawn 4241)."""
    machines = tmp_path / "machines"
    machines.mkdir()
    (machines / "node-1.nspawn-pid").write_text("4241\n")
    env = stand_ins(
        tmp_path,
        {
            "pgrep": '[ "$*" = "-P 4241" ] && echo 4242',
            # Its arguments NUL-separated (a script's text has newlines), then its stdin.
            "nsenter": f"printf '%s\\0' nsenter \"$@\" >> {log}; cat >> {log}",
        },
    )
    return str(machines), env


def test_a_node_side_script_runs_in_the_machine_with_its_stdin(tmp_path):
    log = tmp_path / "log"
    machines, env = machine_host(tmp_path, log)
    result = run_command(in_machine(machines, "node-1", "admin-kubeconfig.sh"), env, stdin="the configuration\n")
    assert result.returncode == 0, result.stderr
    *arguments, stdin = log.read_text().split("\0")
    assert arguments[:9] == ["nsenter", "--target", "4242", "--mount", "--uts", "--ipc", "--net", "--pid", "--"]
    assert arguments[9:11] == ["/usr/bin/env", "-i"]
    # The script itself, as docker exec would run it in a node container.
    assert arguments[-4:] == ["/bin/sh", "-c", (SCRIPTS / "admin-kubeconfig.sh").read_text(), "admin-kubeconfig.sh"]
    assert stdin == "the configuration\n"


def test_host_scripts_reach_machines_through_docker_exec_and_nothing_else(tmp_path):
    log = tmp_path / "log"
    machines, env = machine_host(tmp_path, log)
    result = run_command(on_host_with_machines(machines, "wait-for-systemd.sh", "machine", "node-1", "1"), env)
    # The stand-in nsenter prints no state: systemd never reports running, and the wait gives up.
    assert result.returncode == 1
    assert "nsenter\0--target\0004242\0" in log.read_text()
    assert "systemctl\0is-system-running\0" in log.read_text()
    refused = subprocess.run(
        ["/bin/sh", "-c", (SCRIPTS / "machine-exec.sh").read_text() + "docker inspect node-1"],
        env={**env, "KINDLING_MACHINES_DIR": machines},
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1
    assert "only docker exec reaches them" in refused.stderr


def test_a_machine_that_does_not_boot_in_time_shows_the_last_lines_of_its_log(tmp_path):
    machines, env = machine_host(tmp_path, tmp_path / "log")
    (tmp_path / "machines" / "node-1.log").write_text("".join(f"line {n}\n" for n in range(50)))
    result = run_command(on_host_with_machines(machines, "wait-for-systemd.sh", "machine", "node-1", "1"), env)
    assert result.returncode == 1
    assert "systemd in machine node-1 did not finish booting within 1s (state: unknown)" in result.stderr
    # The last 40 lines, and no docker inspect or docker logs, which no machine answers.
    assert "line 9\n" not in result.stderr and result.stderr.endswith(
        "line 10\n" + "".join(f"line {n}\n" for n in range(11, 50))
    )
    assert "only docker exec reaches them" not in result.stderr


def test_a_machine_without_a_log_file_shows_its_unit_s_journal(tmp_path):
    log = tmp_path / "log"
    machines, env = machine_host(tmp_path, log)
    (tmp_path / "bin" / "journalctl").write_text('#!/bin/sh\necho "journalctl $*"\n')
    (tmp_path / "bin" / "journalctl").chmod(0o755)
    result = run_command(on_host_with_machines(machines, "wait-for-systemd.sh", "machine", "node-1", "1"), env)
    assert result.returncode == 1
    assert result.stderr.endswith("journalctl --unit kindling-node-1 --lines 40 --no-pager\n")


def test_a_machine_that_is_not_running_is_said_so(tmp_path):
    machines, env = machine_host(tmp_path, tmp_path / "log")
    result = run_command(in_machine(machines, "node-2", "node-versions.sh"), env)
    assert result.returncode == 1
    assert "machine node-2 is not running" in result.stderr


def iptables_host(tmp_path):
    """ip and iptables stand-ins; iptables keeps its rules in a file, as the kernel would."""
    rules = tmp_path / "rules"
    rules.write_text("")
    calls = tmp_path / "calls"
    iptables = f"""
echo "iptables $*" >> {calls}
table=$2; verb=$3; chain=$4; shift 4
[ "$verb" = -I ] && [ "$1" = 1 ] && shift
rule="$table $chain $*"
case "$verb" in
    -I) echo "$rule" >> {rules} ;;
    -C) grep -qxF "$rule" {rules} ;;
    -D) grep -vxF "$rule" {rules} > {rules}.new; mv {rules}.new {rules} ;;
esac
"""
    env = stand_ins(
        tmp_path, {"iptables": iptables, "ip": f'echo "ip $*" >> {calls}', "sysctl": f'echo "sysctl $*" >> {calls}'}
    )
    return env, rules, calls


def run(script, env, *arguments):
    """A host-side iptables script as its Command runs it: read after iptables-rules.sh."""
    return run_command(on_host(script, *arguments, library=RULES), env)


def test_remove_rules_deletes_every_copy_of_each_rule_with_its_comment_and_nothing_else(tmp_path):
    env, rules, _ = iptables_host(tmp_path)
    kept = [
        "filter FORWARD -i nsp-c -j ACCEPT -m comment --comment kindling nsp-c api-server",  # another comment
        "filter FORWARD -i nsp-c -j ACCEPT -m comment --comment kindling nsp-c2",
        "filter FORWARD -i nsp-c -j ACCEPT",  # none
        "nat POSTROUTING -s 10.9.9.0/24 -j MASQUERADE -m comment --comment kindling nsp-c",  # not listed
    ]
    ours = "filter FORWARD -i nsp-c -j ACCEPT -m comment --comment kindling nsp-c"
    rules.write_text("\n".join([ours, *kept, ours]) + "\n")
    listed = "filter FORWARD -i nsp-c -j ACCEPT\nnat OUTPUT -d 127.0.0.1 -j DNAT\n"  # the second one is absent
    removed = subprocess.run(
        ["/bin/sh", "-c", (SCRIPTS / RULES).read_text() + 'remove_rules "kindling nsp-c"'],
        input=listed,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert removed.returncode == 0, removed.stderr
    assert rules.read_text().splitlines() == kept


def test_the_bridge_delete_removes_every_rule_and_the_bridge_its_create_made(tmp_path):
    env, rules, calls = iptables_host(tmp_path)
    made = run("machine-network.sh", env, "create", "nsp-c", "10.9.9.1/24", "10.9.9.0/24")
    assert made.returncode == 0, made.stderr
    assert len(rules.read_text().splitlines()) == 4
    assert (
        "nat POSTROUTING -s 10.9.9.0/24 ! -o nsp-c -j MASQUERADE -m comment --comment kindling nsp-c"
        in rules.read_text()
    )
    assert "ip link add nsp-c type bridge" in calls.read_text()
    # route_localnet on the cluster's own bridge, not the host's "all".
    assert "sysctl -qw net/ipv4/conf/nsp-c/route_localnet=1" in calls.read_text()
    removed = run("machine-network.sh", env, "delete", "nsp-c", "10.9.9.0/24")
    assert removed.returncode == 0, removed.stderr
    assert rules.read_text() == ""
    assert calls.read_text().splitlines()[-1] == "ip link delete nsp-c"


def test_a_bridge_create_that_fails_leaves_nothing(tmp_path):
    env, rules, calls = iptables_host(tmp_path)
    # The third rule fails: the two before it, and the bridge, go again.
    failing = (
        (tmp_path / "bin" / "iptables")
        .read_text()
        .replace('echo "iptables', 'case "$*" in *RELATED*-I*|*-I*RELATED*) exit 1;; esac\necho "iptables', 1)
    )
    (tmp_path / "bin" / "iptables").write_text(failing)
    made = run("machine-network.sh", env, "create", "nsp-c", "10.9.9.1/24", "10.9.9.0/24")
    assert made.returncode != 0
    assert rules.read_text() == ""
    assert calls.read_text().splitlines()[-1] == "ip link delete nsp-c"


def test_the_api_server_on_loopback_is_a_dnat_on_the_host_only_and_goes_with_delete(tmp_path):
    env, rules, _ = iptables_host(tmp_path)
    env = {**env, "KINDLING_PUBLISH_ADDRESS": "127.0.0.1", "KINDLING_PUBLISH_PORT": "32771"}
    made = run("publish-api-server.sh", env, "create", "nsp-c", "10.9.9.2")
    assert made.returncode == 0, made.stderr
    published = rules.read_text().splitlines()
    assert [rule.split()[:2] for rule in published] == [["nat", "OUTPUT"], ["nat", "POSTROUTING"]]
    assert "-d 127.0.0.1 -p tcp --dport 32771 -j DNAT --to-destination 10.9.9.2:6443" in published[0]
    assert run("publish-api-server.sh", env, "delete", "nsp-c", "10.9.9.2").returncode == 0
    assert rules.read_text() == ""


# --- machine.sh restart, with processes standing in for systemd-nspawn and the machine's PID 1 -------

# A stand-in for systemd-nspawn: it runs a "PID 1" that exits on SIGINT (as systemd reboots on it), and
# runs a new one after it when told to (as the supervisor starts the machine again), else none.
FAKE_NSPAWN = """
import signal, subprocess, sys, time
leader = [sys.executable, "-c", "import signal, sys, time\\n"
          "signal.signal(signal.SIGINT, lambda *_: sys.exit(0))\\n"
          "open(sys.argv[1], 'a').write('booted\\\\n')\\n"
          "time.sleep(60)", sys.argv[1]]
subprocess.run(leader)
if sys.argv[2] == "boots-again":
    subprocess.run(leader)
time.sleep(60)
"""


def booted(boots, times: int) -> list[str]:
    """The lines of the boots file, once it has ``times`` of them (or after 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = boots.read_text().splitlines() if boots.exists() else []
        if len(lines) >= times:
            return lines
        time.sleep(0.05)
    return lines


def stop(nspawn: subprocess.Popen) -> None:
    """The stand-in systemd-nspawn and its machine: its whole session (it runs in one of its own)."""
    os.killpg(nspawn.pid, signal.SIGKILL)
    nspawn.wait()


def supervised_machine(tmp_path, boots_again: bool):
    """Machine node-1 on a host without systemd: its pid file names a running stand-in systemd-nspawn."""
    machines = tmp_path / "machines"
    machines.mkdir()
    boots = tmp_path / "boots"
    nspawn = subprocess.Popen(
        [sys.executable, "-c", FAKE_NSPAWN, str(boots), "boots-again" if boots_again else "once"],
        start_new_session=True,
    )
    (machines / "node-1.nspawn-pid").write_text(f"{nspawn.pid}\n")
    booted(boots, times=1)
    env = {"PATH": "/usr/bin:/bin", "KINDLING_MACHINES_DIR": str(machines), "KINDLING_SCRIPT": script("machine.sh")}
    return nspawn, boots, env


def test_a_restart_reboots_the_machine_and_returns_once_its_new_pid_1_runs(tmp_path):
    nspawn, boots, env = supervised_machine(tmp_path, boots_again=True)
    try:
        restarted = run_script("machine.sh", {**env, "KINDLING_RESTART_TIMEOUT": "10"}, "restart", "node-1")
        assert restarted.returncode == 0, restarted.stderr
        # The new PID 1 runs (it may not have written its line yet).
        assert booted(boots, times=2) == ["booted", "booted"]
    finally:
        stop(nspawn)


def test_a_restart_fails_when_the_machine_does_not_come_back_in_time(tmp_path):
    nspawn, _, env = supervised_machine(tmp_path, boots_again=False)
    try:
        restarted = run_script("machine.sh", {**env, "KINDLING_RESTART_TIMEOUT": "2"}, "restart", "node-1")
        assert restarted.returncode == 1
        assert "machine node-1 did not start again within 2s" in restarted.stderr
    finally:
        stop(nspawn)


def test_a_machine_that_is_not_running_is_not_restarted(tmp_path):
    machines = tmp_path / "machines"
    machines.mkdir()
    env = {"PATH": "/usr/bin:/bin", "KINDLING_MACHINES_DIR": str(machines), "KINDLING_SCRIPT": script("machine.sh")}
    restarted = run_script("machine.sh", env, "restart", "node-1")
    assert restarted.returncode == 1
    assert restarted.stderr.strip() == "machine node-1 is not running"
