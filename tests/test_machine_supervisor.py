"""machine.sh's supervisor (a host without systemd as PID 1) and what each boot of a machine starts
from, with stand-in commands: systemd-nspawn (behind unshare on a cgroup v1 host) and the host's files."""

from __future__ import annotations

import time

from components.shell import script
from tests.test_scripts import run, stand_ins

NODE = "nsp-c-worker-1"


def v1_host(tmp_path, exits: list[int]):
    """A cgroup v1 host whose `unshare` logs each call and, for a boot, ends as the next of ``exits`` says
    (133: the machine rebooted, 0: it powered off)."""
    machines = tmp_path / "machines"
    machines.mkdir()
    log = tmp_path / "calls"
    statuses = tmp_path / "statuses"
    statuses.write_text("".join(f"{status}\n" for status in exits))
    unshare = f"""
echo "unshare $1 $2 $3 $7 $8 $9" >> {log}
[ "$8" = boot ] || exit 0
status=$(head -n 1 {statuses}); sed -i 1d {statuses}
exit "${{status:-0}}"
"""
    env = stand_ins(tmp_path, {"stat": "echo tmpfs", "unshare": unshare})
    env.update(KINDLING_MACHINES_DIR=str(machines), KINDLING_SCRIPT=script("machine.sh"))
    return env, log, machines


def test_each_boot_after_a_reboot_starts_with_the_last_boots_cgroups_removed(tmp_path):
    env, log, machines = v1_host(tmp_path, [133, 133, 0])
    supervised = run("machine.sh", env, "supervise", NODE, "--quiet", f"--machine={NODE}")
    assert supervised.returncode == 0, supervised.stderr
    boot = f"unshare --mount --propagation slave machine.sh boot {NODE}"
    forget = f"unshare --mount --propagation private machine.sh forget-cgroups {NODE}"
    assert log.read_text().splitlines() == [boot, forget, boot, forget, boot]
    assert supervised.stderr.count("systemd-nspawn exited with status 133") == 2
    assert (machines / f"{NODE}.supervisor-pid").exists()


def test_a_machine_that_fails_at_once_is_not_booted_again(tmp_path):
    env, log, _ = v1_host(tmp_path, [1, 0])
    supervised = run("machine.sh", env, "supervise", NODE)
    assert supervised.returncode == 1
    assert log.read_text().splitlines() == [f"unshare --mount --propagation slave machine.sh boot {NODE}"]


def test_controllers_mounted_together_make_one_hierarchy(tmp_path):
    proc_cgroups = tmp_path / "cgroups"
    proc_cgroups.write_text(
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
        "cpuset\t3\t1\t1\ncpu\t2\t1\t1\ncpuacct\t2\t1\t1\nmemory\t4\t1\t1\n"
        "net_cls\t5\t1\t1\nnet_prio\t5\t1\t1\nperf_event\t0\t1\t1\nhugetlb\t0\t1\t0\n"
    )
    env = {"PATH": "/usr/bin:/bin", "KINDLING_MACHINES_DIR": str(tmp_path), "PROC_CGROUPS": str(proc_cgroups)}
    listed = run("machine.sh", env, "hierarchies")
    assert listed.returncode == 0, listed.stderr
    # perf_event is mounted nowhere: a hierarchy of its own; hugetlb is disabled: none.
    assert sorted(listed.stdout.split()) == [
        "cpu,cpuacct",
        "cpuset",
        "memory",
        "net_cls,net_prio",
        "none,name=systemd",
        "perf_event",
    ]


def test_a_machine_is_made_with_its_hosts_and_a_docker_like_stop_grace(tmp_path):
    machines = tmp_path / "machines"
    rootfs = machines / NODE
    (rootfs / "etc").mkdir(parents=True)
    log = tmp_path / "calls"
    # No machine is started: setsid (the supervisor, without systemd) and systemd-run (with it) only log.
    env = stand_ins(
        tmp_path,
        {
            "ip": "echo '2: eth0    inet 10.9.9.3/24 brd 10.9.9.255 scope global eth0'",
            "setsid": f'echo "setsid $*" >> {log}',
            "systemd-run": f'echo "systemd-run $*" >> {log}',
        },
    )
    env.update(
        KINDLING_MACHINES_DIR=str(machines),
        KINDLING_SCRIPT=script("machine.sh"),
        KINDLING_NSPAWN_OPTIONS="--private-users=no",
        KINDLING_HOSTS=f"10.9.9.2 nsp-c-control-plane\n10.9.9.3 {NODE}",
    )
    made = run("machine.sh", env, "create", NODE, str(rootfs), NODE)
    assert made.returncode == 0, made.stderr
    deadline = time.monotonic() + 10  # the supervisor is started in the background
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"--machine={NODE}" in log.read_text()
    hosts = (rootfs / "etc/hosts").read_text().splitlines()
    assert hosts[2:] == [f"10.9.9.3\t{NODE}", "10.9.9.2\tnsp-c-control-plane"]
    grace = (rootfs / "etc/systemd/system.conf.d/kindling-machine.conf").read_text()
    assert grace == "[Manager]\nDefaultTimeoutStopSec=10s\n"
