"""The HAProxy configuration of a highly available cluster's API server load balancer.

TCP straight through to the API servers, which terminate TLS themselves, so kubeconfigs and
certificates stay kubeadm's own. Each API server is checked on its /healthz (over TLS, which the
check does not verify: it asks whether the server answers, not who it is): a stopped control
plane, or one whose API server has lost etcd, leaves the rotation within seconds and comes back
once it answers again. Backends are addressed by their fixed node addresses, so HAProxy needs no
DNS, and starts before any control plane exists.
"""

from __future__ import annotations

from kindling.contract import API_SERVER_PORT
from kindling.spec import ClusterSpec

# A check every 2 s; down after 2 failures, up after 2 successes.
CHECK = "check check-ssl verify none inter 2s fall 2 rise 2"


def backends(spec: ClusterSpec) -> list[tuple[str, str]]:
    """(name, address) of every control plane."""
    return [(name, str(spec.node_ip(index))) for index, name in enumerate(spec.control_plane_names)]


def render_haproxy_config(spec: ClusterSpec) -> str:
    servers = "".join(f"    server {name} {address}:{API_SERVER_PORT} {CHECK}\n" for name, address in backends(spec))
    return f"""# The API servers of kindling cluster {spec.name}.
global
    log stdout format raw local0 notice

defaults
    log global
    mode tcp
    option dontlognull
    # A control plane that went down since its last check: try another instead.
    retries 3
    option redispatch
    timeout connect 5s
    # Watches stay open, and may stay silent, for minutes.
    timeout client 10m
    timeout server 10m

frontend kube-apiserver
    bind *:{API_SERVER_PORT}
    default_backend control-planes

backend control-planes
    option httpchk GET /healthz
{servers}"""
