"""runc 1.0.0-rc10's dependencies, as go.mod lines the Go module proxy serves (kindling/sources/runtime.py).

runc rc10 predates its go.mod: vendor.conf pinned tags and commits. These are those 18 pins as
versions the proxy serves (each at exactly the pinned commit: every file runc rc10 vendored is
byte-identical in these module zips), and the replace that holds back what Go's minimal version
selection would otherwise raise above vendor.conf.

vendor.conf's comments name tags that are not what the pinned commit is under modules:
godbus/dbus "v5.0.1" is a tag on a 2018 commit with no go.mod (runc imports it as
github.com/godbus/dbus, so it is that path's pseudo-version), go-systemd "v19" and go-criu
"v3.11" are not semver tags (pseudo-versions), and selinux is v1.3.0 plus the CVE-2019-16884 fix.
"""

REQUIRES = (
    "github.com/checkpoint-restore/go-criu v0.0.0-20181120144056-17b0214f6c48",
    "github.com/cilium/ebpf v0.0.0-20191025125908-95b36a581eed",
    "github.com/containerd/console v0.0.0-20181022165439-0650fd9eeb50",
    "github.com/coreos/go-systemd v0.0.0-20190321100706-95778dfbb74e",
    "github.com/cyphar/filepath-securejoin v0.2.2",
    "github.com/docker/go-units v0.3.3",
    "github.com/godbus/dbus v0.0.0-20181101234600-2ff6f7ffd60f",
    "github.com/golang/protobuf v1.0.0",
    "github.com/mrunalp/fileutils v0.0.0-20171103030105-7d4729fb3618",
    "github.com/opencontainers/runtime-spec v1.0.2-0.20190207185410-29686dbc5559",
    "github.com/opencontainers/selinux v1.3.1-0.20190929122143-5215b1806f52",
    "github.com/pkg/errors v0.8.1",
    "github.com/seccomp/libseccomp-golang v0.9.1",
    "github.com/sirupsen/logrus v1.4.1",
    "github.com/syndtr/gocapability v0.0.0-20180916011248-d98352740cb2",
    "github.com/urfave/cli v1.20.0",
    "github.com/vishvananda/netlink v0.0.0-20150820014904-1e2e08e8a2dc",
    "golang.org/x/sys v0.0.0-20190812073006-9eafafc0a87e",
)

REPLACES = (
    # cilium/ebpf's go.mod requires golang.org/x/sys v0.0.0-20191022100944-742c48ecaeb7.
    "golang.org/x/sys => golang.org/x/sys v0.0.0-20190812073006-9eafafc0a87e",
)
