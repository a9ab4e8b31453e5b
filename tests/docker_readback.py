"""What pulumi-docker 5.0 keeps in its state for each container field kindling sets, read from `docker inspect`.

The provider reads the container back at the end of create and on every refresh
(terraform-provider-docker v4.2.0 at 619686dd, the upstream of pulumi-docker 5.0:
internal/provider/resource_docker_container_funcs.go, resourceDockerContainerRead).
A field whose read-back value differs from what the program sends shows up as a
change on the next `up`; all of these but the restart policy and tmpfs force a new
container, so the node (and the cluster on it) would be replaced.

Fields the provider never reads back cannot drift, so they are not compared: labels,
volumes, networks_advanced (read only on import), cgroupns_mode, destroy_grace_seconds,
remove_volumes and must_run.
"""

from __future__ import annotations

from typing import Any


def read_back(inspect: dict[str, Any]) -> dict[str, Any]:
    """The provider's view of a running container, as ``docker inspect`` reports it."""
    host, config = inspect["HostConfig"], inspect["Config"]
    ports = []
    for key, bindings in (inspect["NetworkSettings"].get("Ports") or {}).items():
        internal, protocol = key.split("/")
        ports += [
            {"internal": int(internal), "ip": b["HostIp"], "external": int(b["HostPort"]), "protocol": protocol}
            for b in bindings or []
        ]
    return {
        "hostname": config["Hostname"],
        "privileged": host["Privileged"],
        "capabilities": sorted(host.get("CapAdd") or []),
        "securityOpts": sorted(host.get("SecurityOpt") or []),
        "tmpfs": host.get("Tmpfs") or {},
        "mounts": sorted(
            (
                {"type": m["Type"], "source": m["Source"], "target": m["Target"], "readOnly": bool(m.get("ReadOnly"))}
                for m in host.get("Mounts") or []
            ),
            key=lambda m: m["target"],
        ),
        "ports": sorted(ports, key=lambda p: (p["internal"], p["ip"])),
        "restart": host["RestartPolicy"]["Name"],
        "maxRetryCount": host["RestartPolicy"]["MaximumRetryCount"],
        "init": bool(host.get("Init")),
        "tty": config["Tty"],
        "stopSignal": config.get("StopSignal"),
    }


def sent(inputs: dict[str, Any]) -> dict[str, Any]:
    """The same fields, as the program registers them for a docker.Container."""
    return {
        "hostname": inputs["hostname"],
        "privileged": bool(inputs.get("privileged")),
        "capabilities": sorted((inputs.get("capabilities") or {}).get("adds", [])),
        "securityOpts": sorted(inputs.get("securityOpts", [])),
        "tmpfs": inputs.get("tmpfs", {}),
        "mounts": sorted(
            (
                {"type": m["type"], "source": m["source"], "target": m["target"], "readOnly": bool(m.get("readOnly"))}
                for m in inputs.get("mounts", [])
            ),
            key=lambda m: m["target"],
        ),
        "ports": sorted(
            (
                {"internal": p["internal"], "ip": p["ip"], "external": p["external"], "protocol": p["protocol"]}
                for p in inputs.get("ports", [])
            ),
            key=lambda p: (p["internal"], p["ip"]),
        ),
        "restart": inputs.get("restart", "no"),
        "maxRetryCount": inputs.get("maxRetryCount", 0),
        "init": bool(inputs.get("init")),
        "tty": bool(inputs.get("tty")),
        "stopSignal": inputs.get("stopSignal"),
    }


def drift(inputs: dict[str, Any], inspect: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose read-back value differs from the one sent: {field: (sent, read back)}."""
    mine, theirs = sent(inputs), read_back(inspect)
    return {key: (mine[key], theirs[key]) for key in mine if mine[key] != theirs[key]}
