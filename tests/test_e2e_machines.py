"""make e2e ARGS=--node-runtime nspawn, without a cluster: the option, how the checks reach machines, and
what the residue check counts (tests/e2e/machines.py), with stand-in commands and files."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from kindling.machines import veth_name
from tests.e2e import checks, machines, run
from tests.support import commands_first_on_path, release_bundle

CLUSTER = "nsp-unit"
NODES = [f"{CLUSTER}-control-plane", f"{CLUSTER}-worker-1"]

# A Docker engine with nothing on it, logging every call.
EMPTY_DOCKER = textwrap.dedent(
    """\
    #!{python}
    import os, sys
    with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\\n")
    """
)


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Docker engine, machines kept under tmp_path, and `ip` knowing only what ``tmp_path/links``
    and ``tmp_path/netns`` list. Returns the Docker log."""
    log = tmp_path / "docker.log"
    log.touch()
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    (tmp_path / "links").write_text("")
    (tmp_path / "netns").write_text("")
    ip = f"""#!/bin/sh
case "$1 $2" in
    "netns list") cat {tmp_path}/netns ;;
    "link show") grep -qx "$4" {tmp_path}/links ;;
    *) exit 1 ;;
esac
"""
    commands_first_on_path(
        monkeypatch,
        tmp_path / "bin",
        {
            "docker": EMPTY_DOCKER.format(python=sys.executable),
            "ip": ip,
            "iptables-save": "#!/bin/sh\n",
            # A cgroup v1 host (machine.sh asks stat), whose hierarchies hold no cgroup of the machines.
            "stat": "#!/bin/sh\necho tmpfs\n",
            "unshare": "#!/bin/sh\n",
        },
    )
    monkeypatch.setattr(machines, "machines_dir", lambda cluster: f"{tmp_path}/machines/{cluster}")
    return log


def test_an_nspawn_run_gives_the_stack_machines_and_asks_docker_nothing_about_privileges(host, tmp_path):
    bundle = release_bundle(tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    config, _ = run.prepare("k8s-1-19-1", bundle, work, name=CLUSTER, node_runtime="nspawn")

    written = yaml.safe_load((work / "stacks" / f"Pulumi.{CLUSTER}.yaml").read_text())["config"]
    assert written == config
    assert written["kindling:nodeRuntime"] == "nspawn"
    assert "kindling:nodeSecurity" not in written  # Docker's setting: machines take none
    assert "kindling/base:bookworm" in written["kindling:preloadImages"]  # the DNS pod's image, baked in
    assert not [call for call in host.read_text().splitlines() if call.startswith("run")]


def test_a_docker_run_still_asks_whether_the_engine_refuses_privileged(host, tmp_path):
    bundle = release_bundle(tmp_path, "b:1")
    (tmp_path / "work").mkdir()
    config, _ = run.prepare("k8s-1-19-1", bundle, tmp_path / "work")
    assert "kindling:nodeRuntime" not in config
    assert "run --rm --privileged b:1 true" in host.read_text()


def test_machines_have_one_control_plane(capsys):
    with pytest.raises(SystemExit):
        run.main(["k8s-1-19-1", "--node-runtime", "nspawn", "--control-planes", "3"])
    assert "nodeRuntime nspawn has one control plane" in capsys.readouterr().err


def test_an_nspawn_run_refuses_a_name_whose_machines_are_still_on_the_host(host, tmp_path, monkeypatch):
    monkeypatch.setattr(run, "default_out", lambda release: pytest.fail("nothing may be built once the name is taken"))
    (tmp_path / "links").write_text(f"{CLUSTER}\n")
    (tmp_path / "netns").write_text(f"{CLUSTER}-worker-1 (id: 3)\n")
    report_file = tmp_path / "report.json"

    assert run.main(["k8s-1-19-1", "--node-runtime", "nspawn", "--name", CLUSTER, "--report", str(report_file)]) == 1

    report = json.loads(report_file.read_text())
    assert report["failedChecks"] == ["cluster name free"]
    assert f"bridge {CLUSTER}; network namespaces {CLUSTER}-worker-1" in report["firstFailure"]
    assert report["nodeRuntime"] == "nspawn"


def test_the_checks_reach_a_machine_through_its_leader(tmp_path, monkeypatch):
    """checks.in_node, once pointed at machines, enters machine NODE as kindling's Commands do."""
    (tmp_path / "machines" / CLUSTER).mkdir(parents=True)
    (tmp_path / "machines" / CLUSTER / f"{NODES[1]}.nspawn-pid").write_text("4241\n")
    log = tmp_path / "nsenter.log"
    commands_first_on_path(
        monkeypatch,
        tmp_path / "bin",
        {
            "pgrep": '#!/bin/sh\n[ "$*" = "-P 4241" ] && echo 4242\n',
            "nsenter": f'#!/bin/sh\necho "$*" >> {log}\ncat >> {log}\n',
        },
    )
    monkeypatch.setattr(machines, "machines_dir", lambda cluster: f"{tmp_path}/machines/{cluster}")
    monkeypatch.setattr(checks, "_node_exec", checks.docker_exec)
    checks.reach_nodes_with(machines.machine_exec(CLUSTER))

    answered = checks.in_node(NODES[1], "runc", "--version", stdin="input\n")

    assert answered.returncode == 0, answered.stderr
    entered, given = log.read_text().splitlines()
    assert entered.startswith("--target 4242 --mount --uts --ipc --net --pid -- /usr/bin/env -i")
    assert entered.endswith("runc --version")
    assert given == "input"
    assert checks.in_node(NODES[0], "true").stderr.strip() == f"machine {NODES[0]} is not running"


def test_docker_nodes_are_reached_with_docker_exec_by_default():
    assert checks.docker_exec("n-1") == ["docker", "exec", "-i", "n-1"]


def test_the_residue_check_counts_only_the_clusters_own_iptables_rules():
    saved = textwrap.dedent(
        f"""\
        -A FORWARD -i {CLUSTER} -m comment --comment "kindling {CLUSTER}" -j ACCEPT
        -A OUTPUT -d 127.0.0.1/32 -p tcp -m comment --comment "kindling {CLUSTER} api-server" -j DNAT
        -A FORWARD -i {CLUSTER}-2 -m comment --comment "kindling {CLUSTER}-2" -j ACCEPT
        -A FORWARD -o docker0 -j DOCKER
        """
    )
    found = machines.iptables_rules(CLUSTER, saved)
    assert len(found) == 2
    assert all(f"kindling {CLUSTER}-2" not in rule for rule in found)


def test_after_destroy_each_thing_left_of_a_machine_is_a_failure_of_its_own(host, tmp_path, monkeypatch):
    (tmp_path / "machines" / CLUSTER / NODES[0]).mkdir(parents=True)
    (tmp_path / "links").write_text(f"{veth_name(NODES[1])}\n")  # the host's end of the worker's veth pair
    (tmp_path / "netns").write_text(f"{NODES[0]}\nsomeone-else\n")
    rule = f'-A POSTROUTING -s 10.19.1.0/24 ! -o {CLUSTER} -m comment --comment "kindling {CLUSTER}" -j MASQUERADE'
    commands_first_on_path(
        monkeypatch,
        tmp_path / "bin",
        {
            "iptables-save": f"#!/bin/sh\necho '{rule}'\n",
            # machine.sh cgroups lists, in a mount namespace of its own, the cgroups of the machine left.
            "unshare": f'#!/bin/sh\n[ "$9" = {NODES[1]} ] && echo "pids/kindling/{NODES[1]}"\nexit 0\n',
        },
    )
    report = checks.Report()

    machines.residue(report, CLUSTER, NODES)

    assert report.failed == [
        "no root filesystem directory left",
        "no network namespace left",
        "no veth left",
        "no iptables rule left",
        "no cgroup left",
    ]
    assert report.failures["no network namespace left"] == f"['{NODES[0]}']"
    assert report.failures["no cgroup left"] == f"['pids/kindling/{NODES[1]}']"
    assert report.passed[:1] == ["no machine left"] and "no bridge left" in report.passed


def test_a_clean_host_passes_every_residue_check(host):
    report = checks.Report()
    machines.residue(report, CLUSTER, NODES)
    assert report.failed == []
    assert len(report.passed) >= 7


def test_a_machine_is_found_by_its_systemd_nspawn_or_its_supervisor(tmp_path):
    proc = tmp_path / "proc"
    for pid, argv in {
        "10": ["systemd-nspawn", "--quiet", f"--machine={NODES[0]}", "--directory=/x"],
        "11": ["/bin/sh", "-c", "SCRIPT", "machine.sh", "supervise", NODES[0], "--quiet"],
        "12": ["/bin/sh", "-c", "SCRIPT", "machine.sh", "restart", NODES[0]],  # the e2e itself, asking
        "13": ["systemd-nspawn", f"--machine={NODES[0]}-2"],
    }.items():
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(b"\0".join(word.encode() for word in argv) + b"\0")
    (proc / "self").mkdir()
    assert machines.machine_processes(NODES[0], proc) == [10, 11]
    assert machines.machine_processes(NODES[1], proc) == []
