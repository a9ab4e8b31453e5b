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
from datetime import UTC, datetime
from pathlib import Path

from components.shell import SCRIPTS
from kindling.machines import bridge_name, machines_dir, veth_name
from tests.e2e.checks import DNS_NAME, Report, nodes, not_ready, pods, resolves_from_a_pod, run, waited

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


def heartbeat_after(node: dict, since: datetime) -> bool:
    """Whether the node's kubelet has reported Ready at ``since`` or later (not a status from before it)."""
    for condition in node["status"]["conditions"]:
        if condition["type"] == "Ready" and condition["status"] == "True":
            beat = datetime.fromisoformat(condition["lastHeartbeatTime"].replace("Z", "+00:00"))
            return beat >= since
    return False


def restart(
    report: Report, cluster: str, node_names: list[str], api_answers: Callable[[], bool], dns_image: str
) -> dict[str, float]:
    """Restart every machine, one after the other, and wait for the cluster to be back; returns timings."""
    control_plane = node_names[0]
    since = datetime.now(UTC).replace(microsecond=0)
    seconds: dict[str, float] = {}
    failed = {}
    for node in node_names:
        step = time.monotonic()
        restarted = machine_script(cluster, "restart", node)
        seconds[f"restart {node}"] = time.monotonic() - step
        if restarted.returncode != 0:
            failed[node] = restarted.stderr.strip()[-500:]
    report.check("machine.sh restart of every machine (a new PID 1 in each)", not failed, f"{failed}")
    step = time.monotonic()

    def fresh() -> dict[str, bool]:
        return {n["metadata"]["name"]: heartbeat_after(n, since) for n in nodes(control_plane)}

    back = waited(lambda: len(states := fresh()) == len(node_names) and all(states.values()))
    report.check("after the restart every kubelet reports its node Ready again", back, f"{fresh()}")
    seconds["nodes Ready again"] = time.monotonic() - step
    for namespace in ("kube-system", "kube-flannel"):
        running = waited(lambda ns=namespace: not not_ready(pods(control_plane, ns)) and pods(control_plane, ns))
        report.check(
            f"after the restart every {namespace} pod Running",
            bool(running),
            ", ".join(not_ready(pods(control_plane, namespace))),
        )
    report.check("after the restart the API answers on its published address", waited(api_answers, 60))
    answered, seen = resolves_from_a_pod(control_plane, dns_image)
    report.check(f"after the restart a new pod resolves {DNS_NAME}", answered, seen)
    seconds["cluster back"] = time.monotonic() - step
    return seconds
