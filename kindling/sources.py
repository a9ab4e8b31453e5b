"""Where each catalog version's source comes from, for building a release offline.

The version catalog says *which* versions a node runs; this table says how each
of them is rebuilt from the Go module proxy: the module and the version the
proxy serves it at, the upstream commit (for version stamps), the Go release
upstream built it with, and the go.mod edits the module needs to build outside
its own repository. ``bundle/`` (``make bundle``) turns these facts into binaries
and images; nothing here runs anything.

A fact that differs from upstream says so in ``deviation``. A version missing
from a table cannot be bundled yet, and ``bundle plan`` lists it as missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from kindling import containerd_1_4_pins


@dataclass(frozen=True)
class GoSource:
    """One Go module at the version upstream released, and the Go that built it."""

    module: str
    version: str  # as the Go module proxy serves it
    go: str  # the Go release this builder uses (upstream's, or the nearest the proxy serves)
    commit: str  # what upstream stamps into its version output (a commit, or git describe)
    upstream_go: str = ""  # where it differs from ``go``: the release upstream used
    evidence: str = ""  # where the Go version fact comes from
    replaces: tuple[str, ...] = ()  # extra go.mod replace lines, "old => new version"
    requires: tuple[str, ...] = ()  # go.mod require lines, for a module that has no go.mod
    deviation: str = ""

    @property
    def go_deviates(self) -> bool:
        return bool(self.upstream_go) and self.upstream_go != self.go


@dataclass(frozen=True)
class Unavailable:
    """A version no registry reachable here serves, and what a bundle does instead."""

    reason: str
    instead: str


# vbom.ml is gone; the proxy refuses it. fvbommel/util is the same code under its new home.
_VBOM_ML = "vbom.ml/util => github.com/fvbommel/util v0.0.0-20160121211510-db5cfe13f5cc"


@dataclass(frozen=True)
class KubernetesSource:
    """A Kubernetes release, and the images ``kubeadm config images list`` names for it."""

    source: GoSource
    etcd: str  # image tag, e.g. 3.4.13-0
    coredns: str  # image tag, e.g. 1.7.0 or v1.12.1


KUBERNETES: dict[str, KubernetesSource] = {
    "1.19.1": KubernetesSource(
        GoSource(
            "k8s.io/kubernetes",
            "v1.19.1",
            go="1.15",
            commit="206bcadf021e76c27513500ca24182692aabd17e",
            evidence="build/build-image/cross/VERSION v1.15.0-1 (kube-cross go1.15)",
            replaces=(_VBOM_ML,),
        ),
        etcd="3.4.13-0",
        coredns="1.7.0",
    ),
    "1.34.0": KubernetesSource(
        GoSource(
            "k8s.io/kubernetes",
            "v1.34.0",
            go="1.24.6",
            commit="f28b4c9efbca5c5c0af716d9f2d5702667ee8a45",
            evidence=".go-version",
        ),
        etcd="3.6.4-0",
        coredns="v1.12.1",
    ),
}

CONTAINERD: dict[str, GoSource] = {
    "1.4.0": GoSource(
        "github.com/containerd/containerd",
        "v1.4.0",
        go="1.13.15",
        commit="09814d48d50816305a8e6c1a4ae3e2bcc4ba725a",
        evidence=".github/workflows/release.yml go-version 1.13.15",
        requires=containerd_1_4_pins.REQUIRES,
        replaces=containerd_1_4_pins.REPLACES,
    ),
    "2.1.4": GoSource(
        "github.com/containerd/containerd/v2",
        "v2.1.4",
        go="1.23.11",
        commit="75cb2b7193e4e490e9fbdc236c0e811ccaba3376",
        evidence=".github/workflows/release.yml GO_VERSION 1.23.11",
    ),
}

RUNC: dict[str, GoSource] = {
    "1.0.0-rc92": GoSource(
        "github.com/opencontainers/runc",
        "v1.0.0-rc92",
        go="1.13.15",
        upstream_go="1.13.14",
        commit="ff819c7e9184c13b7c2607fe6c30ae19403a7aff",
        evidence="Dockerfile GO_VERSION=1.13, tagged 2020-08-05 (go1.13.14 then); the proxy serves no 1.13.14",
    ),
    "1.3.0": GoSource(
        "github.com/opencontainers/runc",
        "v1.3.0",
        go="1.23.8",
        commit="v1.3.0-0-g4ca628d1",
        evidence="runc --version of the v1.3.0 release: go1.23.8",
    ),
}

CNI_PLUGINS: dict[str, GoSource] = {
    "0.8.7": GoSource(
        "github.com/containernetworking/plugins",
        "v0.8.7",
        go="1.14.7",
        commit="",
        evidence="scripts/release.sh golang:1.14-alpine, tagged 2020-08-26 (go1.14.7 then)",
    ),
    "0.9.1": GoSource(
        "github.com/containernetworking/plugins",
        "v0.9.1",
        go="1.15.8",
        commit="",
        evidence="scripts/release.sh golang:1.15-alpine, tagged 2021-02-05 (go1.15.8 then)",
    ),
    "1.7.1": GoSource(
        "github.com/containernetworking/plugins",
        "v1.7.1",
        go="1.24.2",
        commit="",
        evidence=".github/go-version 1.24, tagged 2025-04-25 (go1.24.2 then)",
    ),
}

# The flannel CNI plugin in the image the flannel chart's init container copies it from
# (upstream: flannel-io/cni-plugin, which the proxy does not serve). containernetworking/plugins
# shipped it until 0.9.x; every bundle's image takes 0.9.1's, so bundles of different releases
# agree on that image. Nodes whose own CNI plugins carry flannel keep theirs (cluster.py).
FLANNEL_CNI_PLUGIN_SOURCE = "0.9.1"

CRICTL: dict[str, GoSource] = {
    "1.34.0": GoSource(
        "sigs.k8s.io/cri-tools",
        "v1.34.0",
        go="1.24.1",
        commit="ca0237b9fec5b675b0bb7bc96b7496e6d54f5ccb",
        evidence="release workflow go-version-file go.mod (go 1.24.1)",
    ),
}

_CRI_V1ALPHA2 = Unavailable(
    reason="the proxy serves cri-tools only from 1.26.1, which speaks only the v1 CRI that containerd before 1.6 lacks",
    instead="no crictl in the node (components.crictl: none); ctr and kubectl do its jobs",
)
CRICTL_UNAVAILABLE: dict[str, Unavailable] = {v: _CRI_V1ALPHA2 for v in ("1.18.0", "1.19.0", "1.21.0", "1.23.0")}

HELM: dict[str, GoSource] = {
    "3.4.0": GoSource(
        "helm.sh/helm/v3",
        "v3.4.0",
        go="1.14.15",
        upstream_go="1.14.10",
        commit="7090a89efc8a18f3d8178bf47d2462450349a004",
        evidence="helm version of v3.4.0: GoVersion go1.14.10; the proxy serves 1.14.7 and 1.14.15, not 1.14.10",
        replaces=(_VBOM_ML,),
    ),
    "3.19.0": GoSource(
        "helm.sh/helm/v3",
        "v3.19.0",
        go="1.24.7",
        commit="3d8990f0836691f0229297773f3524598f46bda6",
        evidence=".github/env GOLANG_VERSION=1.24, released 2025-09 (go1.24.7 then)",
    ),
}

ETCD: dict[str, GoSource] = {
    # 3.4's module path has no /v3, so the proxy serves the v3.4.13 commit only as a pseudo-version.
    "3.4.13-0": GoSource(
        "go.etcd.io/etcd",
        "v0.5.0-alpha.5.0.20200824191128-ae9734ed278b",
        go="1.12.17",
        commit="ae9734ed2",
        evidence="etcd --version of v3.4.13: Git SHA ae9734ed2, go1.12.17",
    ),
    "3.6.4-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.6.4",
        go="1.23.11",
        commit="5400cdc",
        evidence="go.mod toolchain go1.23.11",
    ),
}

COREDNS: dict[str, GoSource] = {
    "1.7.0": GoSource(
        "github.com/coredns/coredns",
        "v1.7.0",
        go="1.14.4",
        commit="f59c03d",
        evidence="coredns -version of the v1.7.0 image: linux/amd64, go1.14.4, f59c03d",
    ),
    "v1.12.1": GoSource(
        "github.com/coredns/coredns",
        "v1.12.1",
        go="1.24.1",
        commit="707c7c1",
        evidence=".go-version 1.24.1",
    ),
}

# pause is C; its source sits in the Kubernetes release whose build/pause/Makefile has that tag.
PAUSE: dict[str, str] = {
    "3.2": "v1.18.2",
    "3.10.1": "v1.34.0",
}

FLANNEL: dict[str, GoSource] = {
    "v0.26.7": GoSource(
        "github.com/flannel-io/flannel",
        "v0.26.7",
        go="1.23.8",
        commit="",
        evidence="Makefile GO_VERSION=1.23, tagged 2025-04-15 (go1.23.8 then)",
    ),
}

# The node base image: Ubuntu's archive is unreachable here, Debian's is. One Debian suite per
# catalog base image, as close in age as the archive still serves.
DEBIAN_SUITE_FOR_BASE: dict[str, str] = {
    "ubuntu:20.04": "bookworm",
    "ubuntu:22.04": "bookworm",
    "ubuntu:24.04": "bookworm",
}
