"""Where each catalog version's source comes from, for building a release offline.

The version catalog says *which* versions a node runs; these tables say how each
of them is rebuilt from the Go module proxy: the module and the version the
proxy serves it at, the upstream commit (for version stamps), the Go release
upstream built it with, and the fixes the module needs to build here (outside
its own repository, with a newer Go than upstream's), each with its reason,
next to the release it is for. ``bundle/`` (``make bundle``) turns these facts
into binaries and images; nothing here runs anything.

A version missing from a table cannot be bundled yet, and ``bundle plan`` lists
it as missing.
"""

from kindling.sources.facts import (
    APPROVED_NEWER_GO,
    LOCAL_GO,
    Fix,
    GoSource,
    KubernetesSource,
    Substitute,
    Unavailable,
)
from kindling.sources.images import COREDNS, DEBIAN_SUITE_FOR_BASE, ETCD, ETCD_TOOL_SUBSTITUTES, FLANNEL
from kindling.sources.kubernetes import KUBERNETES, PAUSE
from kindling.sources.runtime import (
    CNI_PLUGINS,
    CONTAINERD,
    CONTAINERD_SUBSTITUTES,
    FLANNEL_CNI_PLUGIN_SOURCE,
    RUNC,
)
from kindling.sources.tools import CRICTL, HELM

__all__ = [
    "APPROVED_NEWER_GO",
    "CNI_PLUGINS",
    "CONTAINERD",
    "CONTAINERD_SUBSTITUTES",
    "COREDNS",
    "CRICTL",
    "DEBIAN_SUITE_FOR_BASE",
    "ETCD",
    "ETCD_TOOL_SUBSTITUTES",
    "FLANNEL",
    "FLANNEL_CNI_PLUGIN_SOURCE",
    "HELM",
    "KUBERNETES",
    "LOCAL_GO",
    "PAUSE",
    "RUNC",
    "Fix",
    "GoSource",
    "KubernetesSource",
    "Substitute",
    "Unavailable",
]
