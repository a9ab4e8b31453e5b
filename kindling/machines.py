"""systemd-nspawn machines as nodes (kindling:nodeRuntime nspawn): their names on the host, and what
the host must offer them, checked before anything is created and never changed by kindling.

A machine's /proc/sys is the host's, read-only: the settings below are the host's to make (the
systemd-nspawn guide kindling started from sets them), and each one missing stops `up` with the
command that sets it.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from kindling.config import SpecError

# Where machines' root filesystems live: <this>/<cluster>/<node>.
MACHINES_ROOT = "/var/lib/kindling/machines"
# Linux limits interface names to 15 characters.
INTERFACE_NAME_LENGTH = 15

# sysctl -> (least value, why a node needs it).
REQUIRED_SYSCTLS = {
    "net.ipv4.ip_forward": (1, "the nodes reach anything beyond their bridge"),
    "fs.inotify.max_user_instances": (512, "every node's kubelet, containerd and systemd draw on it"),
    "fs.inotify.max_user_watches": (524288, "every node's kubelet, containerd and systemd draw on it"),
}
# kube-proxy sizes conntrack itself unless told not to; in a machine it cannot, so the host does
# (kube-spawn set this; below it kube-proxy crashed).
CONNTRACK_HASHSIZE = "/sys/module/nf_conntrack/parameters/hashsize"
CONNTRACK_HASHSIZE_LEAST = 131072


def machines_dir(cluster: str) -> str:
    return f"{MACHINES_ROOT}/{cluster}"


def _short_interface_name(prefix: str, name: str) -> str:
    """``name`` itself when it fits, else its start and a digest of it, so two names never share one."""
    if len(prefix + name) <= INTERFACE_NAME_LENGTH:
        return prefix + name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{prefix}{name[: INTERFACE_NAME_LENGTH - len(prefix) - len(digest) - 1]}-{digest}"


def bridge_name(cluster: str) -> str:
    """The cluster's bridge: named after it, as its Docker network is."""
    return _short_interface_name("", cluster)


def veth_name(node: str) -> str:
    """The host's end of the veth pair of machine ``node`` (the machine's end is its eth0)."""
    return _short_interface_name("", node)


@dataclass(frozen=True)
class MachineHost:
    """What the host offers systemd-nspawn machines (read, never changed)."""

    nspawn: str | None  # the systemd-nspawn command, None when not installed
    sysctls: tuple[tuple[str, int | None], ...]  # each of REQUIRED_SYSCTLS; None: absent
    conntrack_hashsize: int | None  # None: nf_conntrack not loaded


def _read_number(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def inspect_machine_host(proc_sys: Path = Path("/proc/sys"), hashsize: Path = Path(CONNTRACK_HASHSIZE)) -> MachineHost:
    return MachineHost(
        nspawn=shutil.which("systemd-nspawn"),
        sysctls=tuple((name, _read_number(proc_sys / name.replace(".", "/"))) for name in REQUIRED_SYSCTLS),
        conntrack_hashsize=_read_number(hashsize),
    )


def machine_host_problems(host: MachineHost) -> list[str]:
    """One line per thing the host lacks, naming it and the command that fixes it."""
    problems = []
    if host.nspawn is None:
        problems.append(
            "kindling:nodeRuntime: nspawn needs systemd-nspawn, which is not installed; "
            "install it (Debian/Ubuntu: apt-get install systemd-container)"
        )
    for name, value in host.sysctls:
        least, why = REQUIRED_SYSCTLS[name]
        if value is None or value < least:
            problems.append(
                f"kindling:nodeRuntime: nspawn needs the host's {name} at least {least} ({why}; a machine cannot "
                f"set it), it is {'absent' if value is None else value}: sysctl -w {name}={least}"
            )
    if host.conntrack_hashsize is None or host.conntrack_hashsize < CONNTRACK_HASHSIZE_LEAST:
        now = "nf_conntrack is not loaded" if host.conntrack_hashsize is None else f"it is {host.conntrack_hashsize}"
        fix = (
            f"modprobe nf_conntrack hashsize={CONNTRACK_HASHSIZE_LEAST}"
            if host.conntrack_hashsize is None
            else f"echo {CONNTRACK_HASHSIZE_LEAST} > {CONNTRACK_HASHSIZE}"
        )
        problems.append(
            f"kindling:nodeRuntime: nspawn needs nf_conntrack's hashsize at least {CONNTRACK_HASHSIZE_LEAST} "
            f"(kube-proxy cannot size it from a machine), {now}: {fix}"
        )
    return problems


def check_machine_host(host: MachineHost) -> None:
    problems = machine_host_problems(host)
    if problems:
        raise SpecError(problems)
