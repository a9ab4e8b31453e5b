"""What runs containers in a node: containerd, runc and the CNI plugins."""

from __future__ import annotations

from kindling import containerd_1_4_pins, runc_rc10_pins
from kindling.sources.facts import REFLECT2, GoSource, Substitute

CONTAINERD: dict[str, GoSource] = {
    "1.4.0": GoSource(
        "github.com/containerd/containerd",
        "v1.4.0",
        "09814d48d50816305a8e6c1a4ae3e2bcc4ba725a",
        "1.13.15",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
        requires=containerd_1_4_pins.REQUIRES,
        pins=containerd_1_4_pins.REPLACES,
        fixes=(REFLECT2,),
    ),
    "1.5.1": GoSource(
        "github.com/containerd/containerd",
        "v1.5.1",
        "12dca9790f4cb6b18a6a7a027ce420145cb98ee7",
        "1.16.4",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
        fixes=(REFLECT2,),
    ),
    "1.5.2": GoSource(
        "github.com/containerd/containerd",
        "v1.5.2",
        "36cc874494a56a253cd181a1a685b44b58a2e34a",
        "1.16.4",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
        fixes=(REFLECT2,),
    ),
    "1.6.4": GoSource(
        "github.com/containerd/containerd",
        "v1.6.4",
        "212e8b6fa2f44b9c21b2798135fc6fb7c53efc16",
        "1.17.9",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
    ),
    # The v1.6.7 tag moved after the proxy cached it: its zip is the first tag commit, which differs from
    # the final one only in a release workflow file; the stamp is the final one, as release binaries print.
    "1.6.7": GoSource(
        "github.com/containerd/containerd",
        "v1.6.7",
        "0197261a30bf81f1ee8e6a4dd2dea0ef95d67ccb",
        "1.17.13",
        "Go: .github/workflows/release.yml; commit: the moved git tag, as release binaries print it",
    ),
    "1.6.9": GoSource(
        "github.com/containerd/containerd",
        "v1.6.9",
        "1c90a442489720eec95342e1789ee8a5e1b9536f",
        "1.18.7",
        "Go: .github/workflows/release.yml; commit: the proxy's .info Origin",
    ),
    "1.6.19": GoSource(
        "github.com/containerd/containerd",
        "v1.6.19",
        "1e1ea6e986c6c86565bc33d52e34b81b3e2bc71f",
        "1.19.6",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
    ),
    "1.6.21": GoSource(
        "github.com/containerd/containerd",
        "v1.6.21",
        "3dce8eb055cbb6872793272b4f20ed16117344f8",
        "1.19.9",
        "Go: .github/workflows/release.yml; commit: the proxy's .info Origin",
    ),
    "1.7.1": GoSource(
        "github.com/containerd/containerd",
        "v1.7.1",
        "1677a17964311325ed1c31e2c0a3589ce6d5c30d",
        "1.20.4",
        "Go: .github/workflows/release.yml; commit: the proxy's .info Origin",
    ),
    "1.7.15": GoSource(
        "github.com/containerd/containerd",
        "v1.7.15",
        "926c9586fe4a6236699318391cd44976a98e31f1",
        "1.21.8",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
    ),
    "1.7.18": GoSource(
        "github.com/containerd/containerd",
        "v1.7.18",
        "ae71819c4f5e67bb4d5ae76a6b735f29cc25774e",
        "1.21.11",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
    ),
    "2.0.3": GoSource(
        "github.com/containerd/containerd/v2",
        "v2.0.3",
        "06b99ca80cdbfbc6cc8bd567021738c9af2b36ce",
        "1.23.6",
        "Go: .github/workflows/release.yml; commit: the proxy's .info Origin",
    ),
    "2.1.4": GoSource(
        "github.com/containerd/containerd/v2",
        "v2.1.4",
        "75cb2b7193e4e490e9fbdc236c0e811ccaba3376",
        "1.23.11",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
    ),
    "2.2.0": GoSource(
        "github.com/containerd/containerd/v2",
        "v2.2.0",
        "1c4457e00facac03ce1d75f7b6777a7a851e5c41",
        "1.24.9",
        "Go: .github/workflows/release.yml; commit: the git tag (containerd --version prints it)",
    ),
}

# containerd 1.3 carried its CRI plugin as github.com/containerd/cri at release/1.3 commits; the proxy
# refuses every one of them (and the forks that carried them), and containerd 1.3 without CRI cannot
# run a kubelet's pods. The go.mod pins for the rest of 1.3.3 were worked out and built (ctr, shims,
# containerd with no_cri) with this machine's Go: only the CRI plugin is missing.
CONTAINERD_SUBSTITUTES: dict[str, Substitute] = {
    "1.3.3": Substitute(
        reason="its CRI plugin (github.com/containerd/cri, release/1.3 commits) is refused by the proxy",
        version="1.4.0",
    ),
}

RUNC: dict[str, GoSource] = {
    "1.0.0-rc10": GoSource(
        "github.com/opencontainers/runc",
        "v1.0.0-rc10",
        "dc9208a3303feef5b3839f4323d9beb36df0a9dd",
        "1.12",
        "Go: Dockerfile FROM golang:1.12-stretch, patch unknown; commit: the git tag",
        requires=runc_rc10_pins.REQUIRES,
        pins=runc_rc10_pins.REPLACES,
    ),
    "1.0.0-rc92": GoSource(
        "github.com/opencontainers/runc",
        "v1.0.0-rc92",
        "ff819c7e9184c13b7c2607fe6c30ae19403a7aff",
        "1.13",
        "Go: Dockerfile ARG GO_VERSION=1.13, patch unknown; commit: the git tag",
    ),
    "1.0.0-rc94": GoSource(
        "github.com/opencontainers/runc",
        "v1.0.0-rc94",
        "2c7861bc5e1b3e756392236553ec14a78a09f8bf",
        "1.15",
        "Go: Dockerfile ARG GO_VERSION=1.15, patch unknown; commit: the git tag",
    ),
    "1.0.0-rc95": GoSource(
        "github.com/opencontainers/runc",
        "v1.0.0-rc95",
        "b9ee9c6314599f1b4a7f497e1f1f856fe433d3b7",
        "1.16",
        "Go: Dockerfile ARG GO_VERSION=1.16, patch unknown; commit: the git tag",
    ),
    "1.1.3": GoSource(
        "github.com/opencontainers/runc",
        "v1.1.3",
        "v1.1.3-0-g6724737f",
        "1.17.10",
        "Go: runc --version of the release binary; commit: the git tag",
    ),
    "1.1.4": GoSource(
        "github.com/opencontainers/runc",
        "v1.1.4",
        "v1.1.4-0-g5fd4c4d1",
        "1.17.10",
        "Go: runc --version of the release binary; commit: the git tag",
    ),
    "1.1.7": GoSource(
        "github.com/opencontainers/runc",
        "v1.1.7",
        "v1.1.7-0-g860f061b",
        "1.20.3",
        "Go: runc --version of the release binary; commit: the git tag",
    ),
    "1.1.12": GoSource(
        "github.com/opencontainers/runc",
        "v1.1.12",
        "v1.1.12-0-g51d5e946",
        "1.20.13",
        "Go: runc --version of the release binary; commit: the git tag",
    ),
    "1.2.5": GoSource(
        "github.com/opencontainers/runc",
        "v1.2.5",
        "v1.2.5-0-g59923ef1",
        "1.22.12",
        "Go: runc --version of the release binary; commit: the git tag",
    ),
    "1.3.0": GoSource(
        "github.com/opencontainers/runc",
        "v1.3.0",
        "v1.3.0-0-g4ca628d1",
        "1.23.8",
        "Go: runc --version of the release binary; commit: the git tag",
    ),
    "1.3.3": GoSource(
        "github.com/opencontainers/runc",
        "v1.3.3",
        "v1.3.3-0-gd842d771",
        "1.23.12",
        "Go: runc --version of the release binary; commit: the git tag",
    ),
}

CNI_PLUGINS: dict[str, GoSource] = {
    "0.8.5": GoSource(
        "github.com/containernetworking/plugins",
        "v0.8.5",
        "",
        "1.12",
        "Go: scripts/release.sh golang:1.12-alpine image (a minor only); the plugins print no commit",
    ),
    "0.8.7": GoSource(
        "github.com/containernetworking/plugins",
        "v0.8.7",
        "",
        "1.14",
        "Go: scripts/release.sh golang:1.14-alpine image (a minor only); the plugins print no commit",
    ),
    "0.9.0": GoSource(
        "github.com/containernetworking/plugins",
        "v0.9.0",
        "",
        "1.15",
        "Go: scripts/release.sh golang:1.15-alpine image (a minor only); the plugins print no commit",
    ),
    "0.9.1": GoSource(
        "github.com/containernetworking/plugins",
        "v0.9.1",
        "",
        "1.15",
        "Go: scripts/release.sh golang:1.15-alpine image (a minor only); the plugins print no commit",
    ),
    "1.1.1": GoSource(
        "github.com/containernetworking/plugins",
        "v1.1.1",
        "",
        "1.17",
        "Go: scripts/release.sh golang:1.17-alpine image (a minor only); the plugins print no commit",
        fixes=(REFLECT2,),  # its build list selects reflect2 v1.0.1 (the builder's guard, 1.24.0's bundle)
    ),
    "1.2.0": GoSource(
        "github.com/containernetworking/plugins",
        "v1.2.0",
        "",
        "1.18",
        "Go: scripts/release.sh golang:1.18-alpine image (a minor only); the plugins print no commit",
        fixes=(REFLECT2,),  # its build list selects reflect2 v1.0.1 (go list -m, checked per release)
    ),
    "1.3.0": GoSource(
        "github.com/containernetworking/plugins",
        "v1.3.0",
        "",
        "1.20",
        "Go: scripts/release.sh golang:1.20-alpine image (a minor only); the plugins print no commit",
        fixes=(REFLECT2,),  # its build list selects reflect2 v1.0.1 (go list -m, checked per release)
    ),
    "1.4.0": GoSource(
        "github.com/containernetworking/plugins",
        "v1.4.0",
        "",
        "1.21",
        "Go: scripts/release.sh golang:1.21-alpine image (a minor only); the plugins print no commit",
    ),
    "1.4.1": GoSource(
        "github.com/containernetworking/plugins",
        "v1.4.1",
        "",
        "1.21",
        "Go: .github/workflows/release.yaml setup-go (a minor only); the plugins print no commit",
    ),
    "1.5.1": GoSource(
        "github.com/containernetworking/plugins",
        "v1.5.1",
        "",
        "1.22",
        "Go: .github/workflows/release.yaml setup-go (a minor only); the plugins print no commit",
    ),
    "1.7.1": GoSource(
        "github.com/containernetworking/plugins",
        "v1.7.1",
        "",
        "1.24",
        "Go: .github/go-version (a minor only); the plugins print no commit",
    ),
    "1.8.0": GoSource(
        "github.com/containernetworking/plugins",
        "v1.8.0",
        "",
        "1.25",
        "Go: .github/go-version (a minor only); the plugins print no commit",
    ),
}

# The flannel CNI plugin in the image the flannel chart's init container copies it from
# (upstream: flannel-io/cni-plugin, which the proxy does not serve). containernetworking/plugins
# shipped it until 0.9.x; every bundle's image takes 0.9.1's, so bundles of different releases
# agree on that image. Nodes whose own CNI plugins carry flannel keep theirs (cluster.py).
FLANNEL_CNI_PLUGIN_SOURCE = "0.9.1"
