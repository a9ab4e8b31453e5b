"""make e2e ARGS=--node-runtime nspawn: the run's view of nodes that are systemd-nspawn machines.

The checks reach a machine as kindling's own Commands do (components/scripts/machine-exec.sh: the
machines' ``docker exec``, nsenter into the machine's PID 1). Every machine is restarted with the
runtime's own restart (machine.sh restart: systemd in the machine reboots cleanly, and its supervisor,
or its unit where systemd runs the host, starts it again), and the cluster must then be Ready again:
each kubelet reporting Ready after the restart, the API answering on its published address, and a new
pod resolving DNS. After destroy nothing a machine was made of may be left: its processes, root
filesystem, network namespace, veth, the cluster's bridge and iptables rules, its cgroups and unit.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from components.shell import SCRIPTS
from kindling.machines import bridge_name, machines_dir, veth_name
from tests.e2e import restarted
from tests.e2e.checks import Report, run

# machine.sh restart waits this long for a machine's new boot (a clean shutdown of a node included).
RESTART_SECONDS = 300


def machine_exec(cluster: str) -> Callable[[str], list[str]]:
    """The command line that runs a command in machine NODE of ``cluster`` with its stdin, as ``docker exec -i``."""
    entering = (
        f"KINDLING_MACHINES_DIR={shlex.quote(machines_dir(cluster))}\n{(SCRIPTS / 'machine-exec.sh').read_text()}"
    )
    return lambda node: ["/bin/sh", "-c", entering + '\ndocker exec -i "$@"', "machine-exec", node]


def machine_script(cluster: str, *arguments: str) -> subprocess.CompletedProcess:
    """components/scripts/machine.sh with ``arguments``, as the machine's Command runs it."""
    text = (SCRIPTS / "machine.sh").read_text()
    env = {
        **os.environ,
        "KINDLING_SCRIPT": text,
        "KINDLING_MACHINES_DIR": machines_dir(cluster),
        "KINDLING_RESTART_TIMEOUT": str(RESTART_SECONDS),
    }
    return subprocess.run(
        ["/bin/sh", "-c", text, "machine.sh", *arguments], capture_output=True, text=True, env=env, check=False
    )


def systemd_host() -> bool:
    return Path("/run/systemd/system").is_dir()


# --- what of a cluster's machines is on the host ---------------------------------------------------


def machine_processes(node: str, proc: Path = Path("/proc")) -> list[int]:
    """The systemd-nspawn of machine ``node`` and kindling's supervisor of it, by process id."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        words = [word.decode(errors="replace") for word in argv]
        # machine.sh's supervisor and its boot step run as: /bin/sh -c SCRIPT machine.sh ACTION NODE ...
        supervising = any(
            words[i : i + 3] in (["machine.sh", "supervise", node], ["machine.sh", "boot", node])
            for i in range(len(words))
        )
        if f"--machine={node}" in words or supervising:
            found.append(int(entry.name))
    return sorted(found)


def network_namespaces() -> set[str]:
    # `ip netns list` prints "NAME" or "NAME (id: N)", one a line.
    return {line.split()[0] for line in run(["ip", "netns", "list"]).stdout.splitlines() if line.strip()}


def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name]).returncode == 0


def iptables_rules(bridge: str, saved: str | None = None) -> list[str]:
    """The host's iptables rules kindling made for the cluster on ``bridge`` (each carries "kindling BRIDGE")."""
    saved = run(["iptables-save"]).stdout if saved is None else saved
    mine = re.compile(rf'--comment "?kindling {re.escape(bridge)}( api-server)?"?(\s|$)')
    return [line for line in saved.splitlines() if mine.search(line)]


def units(node_names: list[str]) -> list[str]:
    listed = run(
        ["systemctl", "list-units", "--all", "--plain", "--no-legend", *(f"kindling-{n}.service" for n in node_names)]
    )
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


def on_host(cluster: str, node_names: list[str]) -> str:
    """What of a cluster of machines named ``cluster`` this host already has, in words; empty when nothing."""
    found = []
    if Path(machines_dir(cluster)).exists():
        found.append(f"directory {machines_dir(cluster)}")
    running = [n for n in node_names if machine_processes(n)]
    if running:
        found.append("machines " + ", ".join(running))
    if link_exists(bridge_name(cluster)):
        found.append(f"bridge {bridge_name(cluster)}")
    namespaces = sorted(network_namespaces() & set(node_names))
    if namespaces:
        found.append("network namespaces " + ", ".join(namespaces))
    return "; ".join(found)


def residue(report: Report, cluster: str, node_names: list[str]) -> None:
    """After destroy: nothing of the cluster's machines is left on the host."""
    running = {n: machine_processes(n) for n in node_names if machine_processes(n)}
    report.check("no machine left", not running, f"processes {running}")
    directory = Path(machines_dir(cluster))
    report.check("no root filesystem directory left", not directory.exists(), f"{directory}: {_listing(directory)}")
    namespaces = sorted(network_namespaces() & set(node_names))
    report.check("no network namespace left", not namespaces, f"{namespaces}")
    veths = [veth_name(n) for n in node_names if link_exists(veth_name(n))]
    report.check("no veth left", not veths, f"{veths}")
    bridge = bridge_name(cluster)
    report.check("no bridge left", not link_exists(bridge), bridge)
    rules = iptables_rules(bridge)
    report.check("no iptables rule left", not rules, "; ".join(rules))
    cgroups = [line for n in node_names for line in machine_script(cluster, "cgroups", n).stdout.split()]
    report.check("no cgroup left", not cgroups, f"{cgroups}")
    if systemd_host():
        left = units(node_names)
        report.check("no unit left", not left, f"{left}")
    else:
        print("e2e: no unit to look for: systemd is not PID 1 here, the machines ran under kindling's supervisor")


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


# --- the restart -------------------------------------------------------------------------------------


def restart(
    report: Report, cluster: str, node_names: list[str], api_answers: Callable[[], bool], dns_image: str
) -> dict[str, float]:
    """Restart every machine, one after the other, and wait for the cluster to be back; returns timings."""
    control_plane = node_names[0]
    since = restarted.restart_began()
    seconds: dict[str, float] = {}
    failed = {}
    for node in node_names:
        step = time.monotonic()
        done = machine_script(cluster, "restart", node)
        seconds[f"restart {node}"] = time.monotonic() - step
        if done.returncode != 0:
            failed[node] = done.stderr.strip()[-500:]
    report.check("machine.sh restart of every machine (a new PID 1 in each)", not failed, f"{failed}")
    seconds.update(restarted.back(report, control_plane, node_names, since, api_answers, dns_image))
    return seconds
