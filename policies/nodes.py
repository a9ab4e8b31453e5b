"""The node containers: what they bind, publish and are given, and that they come back after a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import ReportViolation

from kindling import contract
from policies import machines, shapes
from policies.registry import (
    ADVISORY,
    ALLOWED_ADDRESSES,
    MANDATORY,
    Severity,
    allowed,
    allowed_addresses_schema,
    resource_policy,
)
from policies.shapes import UNKNOWN, Resource


def _check_lib_modules(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if machines.is_machine(resource):
        machines.check_lib_modules(resource, report)
        return
    if resource.type != shapes.CONTAINER:
        return
    binds = shapes.host_binds(resource.props)
    if binds is UNKNOWN:
        return
    for bind in binds:
        if bind.source is UNKNOWN or bind.read_only is UNKNOWN:
            continue
        if isinstance(bind.source, str) and shapes.exposes_host_modules(bind.source) and bind.read_only is not True:
            report(
                f"{bind.where} binds the host's {bind.source} writable into container {resource.name!r}: anything "
                "running there (any pod, on a node) can replace the host's kernel modules. Set readOnly: true."
            )
    if shapes.is_node(resource.props) is not True:
        return
    state = shapes.labels(resource.props).get(contract.LABEL_LIB_MODULES)
    if state is UNKNOWN or state == contract.LIB_MODULES_ABSENT:
        return
    mounted = any(
        isinstance(b.source, str)
        and shapes.normalized_path(b.source) in shapes.MODULE_DIRECTORIES
        and isinstance(b.target, str)
        and shapes.normalized_path(b.target) == "/lib/modules"
        for b in binds
    )
    if not mounted and not any(b.source is UNKNOWN or b.target is UNKNOWN for b in binds):
        report(
            f"node container {resource.name!r} does not bind the host's /lib/modules at /lib/modules "
            f"(label {contract.LABEL_LIB_MODULES}={state!r}); kube-proxy and the CNI cannot load kernel modules. "
            f"Bind it read-only, or label the node {contract.LABEL_LIB_MODULES}={contract.LIB_MODULES_ABSENT} "
            "when the Docker host has no /lib/modules."
        )


LIB_MODULES_READ_ONLY = resource_policy(
    "node-lib-modules-read-only",
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    breaks="Node containers and machines bind the host's /lib/modules read-only, and no container binds it writable: "
    "kube-proxy and CNIs load kernel modules from it, and a writable bind lets a pod replace the host's "
    "modules. A node may lack the bind only when labelled kindling.host-lib-modules=absent-on-host.",
    fix="bind /lib/modules at /lib/modules with readOnly: true (components/node_container.py), or --bind-ro for a "
    "machine (components/node_machine.py).",
    validate=_check_lib_modules,
)


def _beyond_loopback(resource: Resource, args: Any, include: Callable[[Any], bool]):
    """(index, internal port, ip or None) of each known port ``include``d and published beyond
    loopback and the allow-list; None: no ip, so Docker binds every host interface."""
    ports = resource.get("ports") or []
    if ports is UNKNOWN:
        return
    permitted = allowed(args)
    for index, port in enumerate(ports):
        if port is UNKNOWN or not include(port.get("internal")):
            continue
        ip = port.get("ip")
        if ip is UNKNOWN:
            continue
        if not ip:
            yield index, port.get("internal"), None
        elif not shapes.is_loopback(ip) and not any(shapes.same_address(ip, a) for a in permitted):
            yield index, port.get("internal"), ip


def _serves_the_api_server(props: dict[str, Any]) -> bool | Any:
    """Whether a container's port 6443 is a cluster's API server: a node's, or that of the load balancer in
    front of several control planes (``UNKNOWN`` if its labels are)."""
    node, balancer = shapes.is_node(props), shapes.is_load_balancer(props)
    if node is True or balancer is True:
        return True
    return UNKNOWN if UNKNOWN in (node, balancer) else False


def _check_api_server_published(resource: Resource, args: Any, report: ReportViolation) -> None:
    if machines.is_api_server_publishing(resource):
        machines.check_api_server_published(resource, lambda: allowed(args), report)
        return
    if resource.type != shapes.CONTAINER or _serves_the_api_server(resource.props) is not True:
        return
    for index, _, ip in _beyond_loopback(resource, args, lambda internal: internal == contract.API_SERVER_PORT):
        if ip is None:
            report(
                f"ports[{index}] publishes the API server of {resource.name!r} without an ip, so Docker binds it on "
                "every host interface. Give ip: 127.0.0.1 (kindling:apiServerAddress)."
            )
        else:
            permitted = allowed(args)
            report(
                f"ports[{index}] publishes the API server of {resource.name!r} on {ip}, which is not loopback and "
                f"not in this policy's {ALLOWED_ADDRESSES} ({', '.join(permitted) or 'empty'}). Publish it on "
                f"127.0.0.1, or add {ip} to {ALLOWED_ADDRESSES} in the policy pack config if it is meant to be "
                "reachable."
            )


API_SERVER_LOOPBACK_ONLY = resource_policy(
    "api-server-loopback-only",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="The API server port (6443) of a node container or machine, or of the load balancer in front of several "
    "control planes, is published on loopback only, unless the address is in this policy's allowedAddresses; otherwise "
    "the cluster's API is reachable from the network.",
    fix="set kindling:apiServerAddress to 127.0.0.1, or list the address in allowedAddresses "
    "(--policy-pack-config) when exposing it is intended.",
    validate=_check_api_server_published,
    config_schema=allowed_addresses_schema("the API server"),
)


def _check_published_ports(resource: Resource, args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER:
        return
    node = shapes.is_node(resource.props)
    if node is True and resource.get("networkMode") == "host":
        report(
            f"node container {resource.name!r} uses the host's network: the API server, etcd and the kubelet "
            "would listen on every host interface. Use the cluster's bridge network (networksAdvanced)."
        )

    serves = _serves_the_api_server(resource.props)

    def other_than_an_api_server(internal: Any) -> bool:
        # An API server port (a node's, the load balancer's) has its own policy and allow-list (unknowns: checked
        # at up).
        return serves is False or (internal is not UNKNOWN and internal != contract.API_SERVER_PORT)

    for index, internal, ip in _beyond_loopback(resource, args, other_than_an_api_server):
        what = f"port {internal:g}" if isinstance(internal, (int, float)) else "a port"
        if ip is None:
            report(
                f"ports[{index}] publishes {what} of {resource.name!r} without an ip, so Docker binds it on every "
                "host interface. Give ip: 127.0.0.1."
            )
        else:
            report(
                f"ports[{index}] publishes {what} of {resource.name!r} on {ip}, beyond loopback. Publish it on "
                f"127.0.0.1, or add {ip} to {ALLOWED_ADDRESSES} in the policy pack config."
            )


PUBLISHED_PORTS_LOOPBACK_ONLY = resource_policy(
    "published-ports-loopback-only",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="No container of the stack publishes any other port (SSH, etcd, the kubelet...) beyond loopback, "
    "and no node container uses the host's network: node containers are privileged, so a port on the "
    "network is a door into a root-equivalent machine.",
    fix="publish ports with ip: 127.0.0.1 (or list an address in allowedAddresses); keep nodes on the "
    "cluster's bridge network.",
    validate=_check_published_ports,
    config_schema=allowed_addresses_schema("container ports"),
)


_UNCONFINED_SECURITY_OPTS = (
    "seccomp=unconfined",
    "seccomp:unconfined",
    "apparmor=unconfined",
    "apparmor:unconfined",
    "label=disable",
    "label:disable",
    "systempaths=unconfined",
)
_HOST_NAMESPACES = ("networkMode", "pidMode", "ipcMode", "usernsMode")
_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run")


def _escalations(props: dict[str, Any]) -> list[str]:
    found = []
    if props.get("privileged") is True:
        found.append("privileged: true")
    capabilities = props.get("capabilities")
    if isinstance(capabilities, dict) and isinstance(capabilities.get("adds"), list) and capabilities["adds"]:
        names = [c for c in capabilities["adds"] if isinstance(c, str)]
        found.append(f"capabilities.adds {names}")
    for key in ("deviceCgroupRules", "devices"):
        if isinstance(props.get(key), list) and props[key]:
            found.append(key)
    options = props.get("securityOpts")
    for option in options if isinstance(options, list) else []:
        if isinstance(option, str) and option.replace(" ", "") in _UNCONFINED_SECURITY_OPTS:
            found.append(f"securityOpts {option}")
    for key in _HOST_NAMESPACES:
        if props.get(key) == "host":
            found.append(f"{key}: host")
    binds = shapes.host_binds(props)
    for bind in binds if binds is not UNKNOWN else []:
        if isinstance(bind.source, str) and shapes.normalized_path(bind.source) in _DOCKER_SOCKETS:
            found.append(f"the Docker socket ({bind.source})")
    return found


def _check_privileges(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER or shapes.is_node(resource.props) is not False:
        return
    escalations = _escalations(resource.props)
    if escalations:
        report(
            f"container {resource.name!r} is not a kindling node (labels {contract.LABEL_CLUSTER} and "
            f"{contract.LABEL_ROLE}=control-plane|worker) but gets {', '.join(escalations)}: that is root on the "
            "Docker host. Drop these settings; only node containers need them."
        )


PRIVILEGES_ONLY_ON_NODES = resource_policy(
    "privileges-only-on-nodes",
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    breaks="Only containers labelled as kindling nodes (kindling.cluster and kindling.role=control-plane|worker) "
    "get privileged, added capabilities, device access, unconfined seccomp/AppArmor, host namespaces or the "
    "Docker socket; on any other container these are root on the Docker host.",
    fix="drop these settings from the container, or make it a node with the NodeContainer component.",
    validate=_check_privileges,
)


def _check_restart(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER or shapes.is_node(resource.props) is not True:
        return
    restart = resource.get("restart")
    if restart is UNKNOWN or restart in ("on-failure", "always", "unless-stopped"):
        return
    report(
        f"node container {resource.name!r} has restart {restart or 'no (the default)'!r}: after a crash or a "
        "Docker restart the node stays down. Use restart: on-failure."
    )


NODE_RESTARTS_ON_FAILURE = resource_policy(
    "node-restarts-on-failure",
    enforcement_level=ADVISORY,
    severity=Severity.LOW,
    breaks="Node containers restart on failure; with Docker's default (no) a crashed node or a restarted "
    "Docker engine leaves the cluster down until the next pulumi up.",
    fix="create node containers with restart='on-failure' (or always, unless-stopped).",
    validate=_check_restart,
)


def _check_load_balancer_ports(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER or shapes.is_load_balancer(resource.props) is not True:
        return
    ports = resource.get("ports") or []
    if ports is UNKNOWN:
        return
    api_server = 0
    for index, port in enumerate(ports):
        internal = UNKNOWN if port is UNKNOWN else port.get("internal")
        if internal == contract.API_SERVER_PORT:
            api_server += 1
        elif internal is not UNKNOWN:
            what = f"port {internal:g}" if isinstance(internal, (int, float)) else "a port"
            report(
                f"ports[{index}] publishes {what} of load balancer {resource.name!r}, which is there to publish the "
                f"API servers' port ({contract.API_SERVER_PORT}) and nothing else: HAProxy's statistics or another "
                "frontend would show, or reach, the control planes behind it. Remove the port."
            )
    if api_server > 1:
        report(
            f"load balancer {resource.name!r} publishes the API server port {api_server} times; publish it once, "
            "on kindling:apiServerAddress, so that the kubeconfig's address is the only way in."
        )


LOAD_BALANCER_PUBLISHES_ONLY_THE_API_SERVER = resource_policy(
    "load-balancer-publishes-only-the-api-server",
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    breaks="The load balancer in front of several control planes (a container labelled kindling.cluster and "
    "kindling.role=load-balancer) publishes the API server port (6443) once and no other port; any other "
    "port would open another way to the control planes, which publish nothing themselves.",
    fix="publish only port 6443 of the load balancer, on kindling:apiServerAddress (components/load_balancer.py).",
    validate=_check_load_balancer_ports,
)
