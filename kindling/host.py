"""What the Docker host offers, and what the chosen release needs from it.

Checked before any resource is registered, so an impossible combination (a
release whose kubelet cannot run under the host's cgroup hierarchy, say) stops
the program with a message instead of a node that never becomes Ready.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pulumi

from kindling.config import SECURITY_MODES, SpecError
from kindling.contract import LABEL_LIB_MODULES, LIB_MODULES_ABSENT, LIB_MODULES_MOUNTED
from kindling.local_images import IMAGES_KEY
from kindling.machines import bridge_name
from kindling.spec import ClusterSpec, free_node_subnet

# Docker's names for the engine's architecture -> upstream release files' names for it.
RELEASE_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

INSTALL_DOCKER_HINT = "install Docker (Debian/Ubuntu: apt-get install docker.io) and start the engine"

# The kernel's capability numbers (linux/capability.h), to name what a bounding set lacks.
CAPABILITY_NAMES = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
]


@dataclass(frozen=True)
class DockerHost:
    cgroup_version: int
    architecture: str
    # None when the engine is remote and its filesystem cannot be inspected.
    has_lib_modules: bool | None
    # What the cluster's existing control-plane node was created with (its label); None before it exists.
    recorded_lib_modules: bool | None = None
    # Networks already in use here (other Docker networks, the host's routes), by what uses them;
    # the cluster's own network is not among them.
    taken_networks: tuple[tuple[ipaddress.IPv4Network, str], ...] = ()  # (subnet, what uses it)
    # The subnet of the cluster's own Docker network, once it exists.
    cluster_network_subnet: ipaddress.IPv4Network | None = None
    # Capabilities the engine's daemon lacks (its bounding set), so cannot give a --privileged container;
    # empty when it has them all or when that cannot be read (a remote or rootless engine).
    engine_lacks_capabilities: tuple[str, ...] = ()
    # The host's inotify limits (sysctl name -> value) where the engine is local; every node's kubelet,
    # containerd and systemd take their instances and watches from the one host-wide pool.
    inotify_limits: tuple[tuple[str, int], ...] = ()

    @property
    def nodes_mount_lib_modules(self) -> bool:
        """Fixed when the cluster's first node is created: a later change on the host must not
        change (and so replace) the nodes of a running cluster."""
        if self.recorded_lib_modules is not None:
            return self.recorded_lib_modules
        return self.has_lib_modules is not False

    @property
    def lib_modules_drift(self) -> str | None:
        """What changed on the host since the cluster was created, if anything."""
        if self.recorded_lib_modules is None or self.has_lib_modules is None:
            return None
        if self.recorded_lib_modules == self.has_lib_modules:
            return None
        now = "has /lib/modules" if self.has_lib_modules else "no longer has /lib/modules"
        kept = "mounted" if self.recorded_lib_modules else "not mounted"
        return (
            f"the Docker host now {now}; the cluster's nodes keep it {kept}, as when they were created "
            "(destroy and up the stack to change that)"
        )


def _engine_is_local() -> bool:
    docker_host = os.environ.get("DOCKER_HOST", "")
    return docker_host == "" or docker_host.startswith("unix://")


# What kind's known issues recommend; below them a few nodes (of one cluster or several) exhaust the
# pool, and a kubelet dies with "inotify_init: too many open files" (seen here with 3 clusters up).
INOTIFY_RECOMMENDED = {"fs.inotify.max_user_instances": 512, "fs.inotify.max_user_watches": 524288}


def read_inotify_limits(proc_sys: Path = Path("/proc/sys")) -> tuple[tuple[str, int], ...]:
    limits = []
    for name in INOTIFY_RECOMMENDED:
        path = proc_sys / name.replace(".", "/")
        if path.is_file():
            limits.append((name, int(path.read_text().split()[0])))
    return tuple(limits)


def host_warnings(host: DockerHost) -> list[str]:
    """What works for a small cluster but is known to break larger or several ones; said, not refused."""
    return [
        f"the host's {name} is {value}; nodes share it, and a kubelet that finds none left dies "
        f"(inotify_init: too many open files): raise it with sysctl -w {name}={INOTIFY_RECOMMENDED[name]}"
        for name, value in host.inotify_limits
        if value < INOTIFY_RECOMMENDED[name]
    ]


def _recorded_lib_modules(node: str) -> bool | None:
    found = subprocess.run(
        ["docker", "container", "inspect", "--format", f'{{{{index .Config.Labels "{LABEL_LIB_MODULES}"}}}}', node],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    label = found.stdout.strip() if found.returncode == 0 else ""
    return {LIB_MODULES_MOUNTED: True, LIB_MODULES_ABSENT: False}.get(label)


def _subnets(text: str) -> list[ipaddress.IPv4Network]:
    found = []
    for word in text.split():
        try:
            network = ipaddress.ip_network(word, strict=False)
        except ValueError:
            continue
        if isinstance(network, ipaddress.IPv4Network) and network.prefixlen > 0:
            found.append(network)
    return found


TakenNetworks = tuple[tuple[ipaddress.IPv4Network, str], ...]


def _networks_in_use(cluster: str) -> tuple[TakenNetworks, ipaddress.IPv4Network | None]:
    """(subnet, user) of every Docker network and host route but the cluster's own, and the cluster's own subnet."""
    taken: list[tuple[ipaddress.IPv4Network, str]] = []
    own = None
    names = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True)
    for name in names.stdout.split():
        shown = subprocess.run(
            ["docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        for subnet in _subnets(shown.stdout):
            if name == cluster:
                own = subnet
            else:
                taken.append((subnet, f"Docker network {name}"))
    if _engine_is_local() and shutil.which("ip"):
        routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=False)
        for line in routes.stdout.splitlines():
            destination = line.split()[0] if line.split() else ""
            for subnet in _subnets(destination):
                if f" dev {bridge_name(cluster)} " in f"{line} ":  # the bridge of the cluster's machines
                    own = subnet
                elif subnet != own and all(subnet != known for known, _ in taken):
                    taken.append((subnet, f"host route {line.strip()}"))
    return tuple(taken), own


def lacking_capabilities(status: str, last_capability: int) -> tuple[str, ...]:
    """The capabilities up to the kernel's last that a /proc/<pid>/status bounding set (CapBnd) lacks."""
    bounding = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("CapBnd:"))
    return tuple(
        f"CAP_{CAPABILITY_NAMES[bit]}" if bit < len(CAPABILITY_NAMES) else f"capability {bit}"
        for bit in range(last_capability + 1)
        if not bounding >> bit & 1
    )


def engine_lacks_capabilities() -> tuple[str, ...]:
    """What the local engine's daemon cannot grant: --privileged asks runc for every capability the kernel
    has, and runc fails ("unable to apply caps") when the daemon's own bounding set lacks one."""
    if not _engine_is_local():
        return ()
    for pid_file in (Path("/run/docker.pid"), Path("/var/run/docker.pid")):
        try:
            status = Path(f"/proc/{int(pid_file.read_text().strip())}/status").read_text()
            last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        except (OSError, ValueError):
            continue
        return lacking_capabilities(status, last)
    return ()


def inspect_docker_host(control_plane_node: str, cluster: str = "") -> DockerHost:
    """Ask the Docker engine (the one DOCKER_HOST names, as the docker provider does), and the
    cluster's control-plane node and network if they exist already."""
    if shutil.which("docker") is None:
        raise SpecError([f"the docker command is not installed; {INSTALL_DOCKER_HINT}"])
    result = subprocess.run(
        ["docker", "info", "--format", "{{json .}}"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise SpecError(
            [f"cannot reach the Docker engine ({reason[-1] if reason else 'no answer'}); {INSTALL_DOCKER_HINT}"]
        )
    info = json.loads(result.stdout)
    if info.get("ServerErrors"):
        raise SpecError([f"the Docker engine reports errors: {'; '.join(info['ServerErrors'])}"])
    return DockerHost(
        cgroup_version=int(info.get("CgroupVersion") or 1),
        architecture=info.get("Architecture", "x86_64"),
        has_lib_modules=Path("/lib/modules").is_dir() if _engine_is_local() else None,
        recorded_lib_modules=_recorded_lib_modules(control_plane_node),
        **dict(zip(("taken_networks", "cluster_network_subnet"), _networks_in_use(cluster), strict=True)),
        engine_lacks_capabilities=engine_lacks_capabilities(),
        inotify_limits=read_inotify_limits() if _engine_is_local() else (),
    )


def host_problems(spec: ClusterSpec, host: DockerHost) -> list[str]:
    problems = []
    if host.cgroup_version == 2 and not spec.traits.supports_cgroup_v2:
        problems.append(
            f"kindling:kubernetesVersion: the kubelet of Kubernetes {spec.kubernetes} does not run on a cgroup v2 "
            "host (support starts at 1.19); use a release >= 1.19 or a host booted with cgroup v1"
        )
    if spec.node_runtime == "docker" and spec.node_security == "privileged" and host.engine_lacks_capabilities:
        problems.append(
            "kindling:nodeSecurity: this Docker engine cannot start --privileged containers (its daemon lacks "
            f"{', '.join(host.engine_lacks_capabilities)}); set it to capabilities "
            f"(allowed: {', '.join(SECURITY_MODES)})"
        )
    if host.architecture not in RELEASE_ARCHITECTURES:
        problems.append(f"the Docker engine runs on {host.architecture}; kindling builds nodes for amd64 and arm64")
    return problems


def place_node_network(spec: ClusterSpec, host: DockerHost) -> ClusterSpec:
    """The spec with the node subnet this host can give the cluster.

    ``auto`` keeps the subnet of the cluster's existing network (fixed when it was created), or takes
    the first automatic subnet that neither the cluster's own networks nor anything on the host uses.
    A subnet the stack names itself must be free on the host.
    """
    if spec.node_subnet_auto:
        if host.cluster_network_subnet is not None:
            return dataclasses.replace(spec, node_subnet=host.cluster_network_subnet)
        in_use = [spec.pod_subnet, spec.service_subnet, *(subnet for subnet, _ in host.taken_networks)]
        chosen = free_node_subnet(spec.kubernetes, in_use)
        if chosen is None:
            raise SpecError(["kindling:nodeSubnet: no automatic subnet is free on this host; give one"])
        return dataclasses.replace(spec, node_subnet=chosen)
    clashes = [what for subnet, what in host.taken_networks if subnet.overlaps(spec.node_subnet)]
    if clashes:
        raise SpecError(
            [f"kindling:nodeSubnet: {spec.node_subnet} overlaps {clashes[0]}; choose a free subnet or auto"]
        )
    return spec


def check_host(spec: ClusterSpec, host: DockerHost) -> None:
    problems = host_problems(spec, host)
    if problems:
        raise SpecError(problems)
    for warning in host_warnings(host):
        pulumi.log.warn(warning)


def warn_about_the_host(spec: ClusterSpec, host: DockerHost) -> None:
    if host.lib_modules_drift:
        pulumi.log.warn(host.lib_modules_drift)
    elif not host.nodes_mount_lib_modules:
        pulumi.log.warn(
            "this Docker host has no /lib/modules, so nodes cannot load kernel modules from it; "
            "kube-proxy's ipvs mode and CNIs that need modules not already loaded will not work"
        )
    if spec.node_runtime == "docker" and spec.node_security == "capabilities" and host.cgroup_version == 2:
        pulumi.log.warn(
            "nodeSecurity capabilities on a cgroup v2 host: nodes get only Docker's default devices (a device "
            "cgroup rule cannot be set through pulumi-docker 5.0), so privileged pods that need other devices fail"
        )


_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")


def local_image_ids(references: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Each kindling:images reference's id on the Docker engine now (``docker image inspect``); raises
    SpecError naming every one the engine does not have. Never pulls: these are the user's own builds,
    and a registry's image of the same name is not what they mean."""
    problems, found = [], {}
    for index, reference in enumerate(references):
        shown = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", reference],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if shown.returncode == 0 and _IMAGE_ID.fullmatch(shown.stdout.strip()):
            found[reference] = shown.stdout.strip()
        else:
            problems.append(
                f"{IMAGES_KEY}[{index}]: {reference!r} is not an image of this Docker engine; build it "
                f"(docker build -t {reference} .) or pull it first: it is loaded from the engine, never pulled"
            )
    if problems:
        raise SpecError(problems)
    return found
