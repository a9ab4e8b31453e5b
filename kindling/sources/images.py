"""What the cluster's images are built from: etcd, CoreDNS, flannel, and the node's Debian base."""

from __future__ import annotations

from kindling.sources.facts import CHECKLINKNAME, REFLECT2, GoSource, Substitute

# 3.4's module path has no /v3, so the proxy serves 3.4 tags only as pseudo-versions of their commits.
ETCD: dict[str, GoSource] = {
    "3.4.3-0": GoSource(
        "go.etcd.io/etcd",
        "v0.5.0-alpha.5.0.20191023171146-3cf2f69b5738",
        "3cf2f69b5",
        "1.12.12",
        "Go: etcd --version output of registry image",
        fixes=(REFLECT2,),
    ),
    "3.4.13-0": GoSource(
        "go.etcd.io/etcd",
        "v0.5.0-alpha.5.0.20200824191128-ae9734ed278b",
        "ae9734ed2",
        "1.12.17",
        "Go: etcd --version output",
        fixes=(REFLECT2,),
    ),
    "3.5.0-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.0",
        "946a5a6f2",
        "1.16.3",
        "Go: server log go-version go1.16.3",
        fixes=(REFLECT2,),
    ),
    "3.5.1-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.1",
        "d42e8589e",
        "1.16.3",
        "Go: log go-version go1.16.3; release binaries say e8732fb5f, a later commit the proxy refuses",
        fixes=(REFLECT2,),
    ),
    "3.5.3-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.3",
        "0452feec7",
        "1.16.15",
        "Go: etcd --version go1.16.15",
        fixes=(REFLECT2,),
    ),
    "3.5.4-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.4",
        "08407ff76",
        "1.16.15",
        "Go: etcd --version go1.16.15",
        fixes=(REFLECT2,),
    ),
    "3.5.6-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.6",
        "cecbe35ce",
        "1.16.15",
        "Go: etcd --version go1.16.15",
        fixes=(REFLECT2,),
    ),
    "3.5.7-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.7",
        "215b53cf3",
        "1.17.13",
        "Go: etcd --version go1.17.13",
        fixes=(REFLECT2,),
    ),
    "3.5.9-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.9",
        "bdbbde998",
        "1.19.9",
        "Go: tree .go-version 1.19.9",
        fixes=(REFLECT2,),
    ),
    "3.5.10-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.10",
        "0223ca52b",
        "1.20.10",
        "Go: tree .go-version 1.20.10",
        fixes=(REFLECT2,),
    ),
    "3.5.12-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.12",
        "e7b3bb6cc",
        "1.20.13",
        "Go: tree .go-version 1.20.13",
        fixes=(REFLECT2,),
    ),
    "3.5.15-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.15",
        "9a5533382",
        "1.21.12",
        "Go: tree .go-version 1.21.12; go.mod toolchain go1.21.12; logs",
        fixes=(REFLECT2,),
    ),
    "3.5.16-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.16",
        "f20bbadd4",
        "1.22.7",
        "Go: tree .go-version 1.22.7; go.mod toolchain go1.22.7",
        fixes=(REFLECT2,),
    ),
    "3.5.21-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.5.21",
        "a17edfd59",
        "1.23.7",
        "Go: tree .go-version 1.23.7; go.mod toolchain go1.23.7",
        fixes=(REFLECT2,),
    ),
    "3.6.4-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.6.4",
        "5400cdc",
        "1.23.11",
        "Go: tree .go-version 1.23.11; go.mod toolchain go1.23.11; etcd",
    ),
    "3.6.6-0": GoSource(
        "go.etcd.io/etcd/server/v3",
        "v3.6.6",
        "d2809cf",
        "1.24.10",
        "Go: tree .go-version 1.24.10; go.mod toolchain go1.24.10",
    ),
}

# An etcd image's tools where the proxy refuses the release's own (its etcd itself is exact): the
# nearest served patch of the same minor, older on a tie.
ETCD_TOOL_SUBSTITUTES: dict[str, dict[str, Substitute]] = {
    "3.5.3-0": {
        "etcdctl": Substitute(reason="the proxy refuses go.etcd.io/etcd/etcdctl/v3 v3.5.3", version="v3.5.2"),
    },
}

COREDNS: dict[str, GoSource] = {
    "1.6.7": GoSource(
        "github.com/coredns/coredns",
        "v1.6.7",
        "da7f65b",
        "1.13.6",
        "Go: startup banner go1.13.6",
        fixes=(REFLECT2,),
    ),
    "1.7.0": GoSource(
        "github.com/coredns/coredns",
        "v1.7.0",
        "f59c03d",
        "1.14.4",
        "Go: startup banner go1.14.4",
        fixes=(REFLECT2,),
    ),
    "v1.8.0": GoSource(
        "github.com/coredns/coredns",
        "v1.8.0",
        "054c9ae",
        "1.15.3",
        "Go: startup banner go1.15.3",
        fixes=(REFLECT2,),
    ),
    "v1.8.4": GoSource(
        "github.com/coredns/coredns",
        "v1.8.4",
        "053c4d5",
        "1.16.4",
        "Go: startup banner go1.16.4",
        fixes=(REFLECT2,),
    ),
    "v1.8.6": GoSource(
        "github.com/coredns/coredns",
        "v1.8.6",
        "13a9191",
        "1.17.1",
        "Go: startup banner go1.17.1",
        fixes=(REFLECT2,),
    ),
    "v1.9.3": GoSource(
        "github.com/coredns/coredns",
        "v1.9.3",
        "45b0a11",
        "1.18.2",
        "Go: startup banner go1.18.2",
        fixes=(CHECKLINKNAME,),
    ),
    "v1.10.1": GoSource(
        "github.com/coredns/coredns",
        "v1.10.1",
        "055b2c3",
        "1.20",
        "Go: startup banner go1.20",
    ),
    "v1.11.1": GoSource(
        "github.com/coredns/coredns",
        "v1.11.1",
        "ae2bbc2",
        "1.20.7",
        "Go: startup banner go1.20.7",
    ),
    "v1.11.3": GoSource(
        "github.com/coredns/coredns",
        "v1.11.3",
        "a7ed346",
        "1.21.11",
        "Go: startup banner go1.21.11; images say a6338e9, a later commit the proxy refuses",
    ),
    "v1.12.0": GoSource(
        "github.com/coredns/coredns",
        "v1.12.0",
        "51e11f1",
        "1.23.3",
        "Go: tree .go-version 1.23.3",
    ),
    "v1.12.1": GoSource(
        "github.com/coredns/coredns",
        "v1.12.1",
        "707c7c1",
        "1.24.1",
        "Go: tree .go-version 1.24.1; banner agrees",
    ),
    "v1.13.1": GoSource(
        "github.com/coredns/coredns",
        "v1.13.1",
        "1db4568",
        "1.25.2",
        "Go: tree .go-version 1.25.2; banner agrees",
    ),
}

FLANNEL: dict[str, GoSource] = {
    "v0.26.7": GoSource(
        "github.com/flannel-io/flannel",
        "v0.26.7",
        "",
        "1.23.8",
        "Makefile GO_VERSION=1.23, tagged 2025-04-15 (go1.23.8 then)",
    ),
}

# The node base image: Ubuntu's archive is unreachable here, Debian's is. One Debian suite per
# catalog base image, as close in age as the archive still serves.
DEBIAN_SUITE_FOR_BASE: dict[str, str] = {
    "ubuntu:20.04": "bookworm",
    "ubuntu:22.04": "bookworm",
    "ubuntu:24.04": "bookworm",
}
