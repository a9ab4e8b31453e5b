"""The shapes of a source fact: where a version's code comes from, and what it needs to build here."""

from __future__ import annotations

from dataclasses import dataclass

# The Go a bundle builds with: this machine's own (GOTOOLCHAIN=local), or, where a module's go.mod
# asks for a newer Go than the machine has, the one newer release approved for these machines,
# which the go command fetches itself. No other Go release is used (README, "Releases built from
# source"), so upstream's Go is a fact to report, not one to reproduce.
LOCAL_GO = "local"
APPROVED_NEWER_GO = "1.27.3"


@dataclass(frozen=True)
class Fix:
    """A change a module needs to build here that upstream's own build did not, and why."""

    why: str
    replace: str = ""  # a go.mod replace line, "old => new version"
    ldflag: str = ""  # an extra linker flag
    # Only for the code generators a build runs (openapi-gen), through a go.mod of their own, so that
    # the released binaries keep the module graph upstream built them with.
    generators_only: bool = False


@dataclass(frozen=True)
class GoSource:
    """One Go module at the version upstream released."""

    module: str
    version: str  # as the Go module proxy serves it
    commit: str  # what upstream stamps into its version output (a commit, or git describe)
    upstream_go: str  # the Go release upstream built it with
    evidence: str  # where the upstream Go (and, unless the proxy's .info gives it, the commit) comes from
    go: str = LOCAL_GO  # the Go this builder uses: LOCAL_GO or APPROVED_NEWER_GO
    fixes: tuple[Fix, ...] = ()
    requires: tuple[str, ...] = ()  # go.mod require lines, for a module that has no go.mod
    pins: tuple[str, ...] = ()  # go.mod replace lines holding those requires where upstream pinned them

    @property
    def replaces(self) -> tuple[str, ...]:
        return self.pins + tuple(fix.replace for fix in self.fixes if fix.replace and not fix.generators_only)

    @property
    def generator_replaces(self) -> tuple[str, ...]:
        return tuple(fix.replace for fix in self.fixes if fix.replace and fix.generators_only)

    @property
    def ldflags(self) -> tuple[str, ...]:
        return tuple(fix.ldflag for fix in self.fixes if fix.ldflag)


@dataclass(frozen=True)
class Unavailable:
    """A version no registry reachable here serves, and what a bundle does instead."""

    reason: str
    instead: str


@dataclass(frozen=True)
class Substitute:
    """A version that cannot be built from what the proxy serves, and the nearest that can."""

    reason: str
    version: str


@dataclass(frozen=True)
class KubernetesSource:
    """A Kubernetes release, and the images ``kubeadm config images list`` names for it."""

    source: GoSource
    etcd: str  # image tag, e.g. 3.4.13-0
    coredns: str  # image tag, e.g. 1.7.0 or v1.12.1


# Fixes several old trees share.

# vbom.ml is gone; the proxy refuses it. fvbommel/util is the same code under its new home.
VBOM_ML = Fix(
    why="vbom.ml is gone and the proxy refuses it; github.com/fvbommel/util is the same code",
    replace="vbom.ml/util => github.com/fvbommel/util v0.0.0-20160121211510-db5cfe13f5cc",
)

# reflect2 1.0.1 walks maps through runtime internals that Go 1.18 changed: json-iterator's map
# encoder then crashes (seen as `kubeadm config migrate` dying). 1.0.2 is the same API, fixed.
REFLECT2 = Fix(
    why="reflect2 1.0.1 reads runtime map internals Go 1.18 changed (json-iterator crashes encoding maps)",
    replace="github.com/modern-go/reflect2 => github.com/modern-go/reflect2 v1.0.2",
)

# golang.org/x/tools before v0.24.1 sizes an array from go/token's internals (tokeninternal), which no
# longer compiles with this Go ("invalid array length -delta * delta"; checked: v0.24.0 fails, v0.24.1
# builds). Only the generators import it (1.30's openapi-gen, through gengo/v2), so only their go.mod
# takes v0.24.1.
XTOOLS_FOR_GENERATORS = Fix(
    why="x/tools before v0.24.1 does not compile with this Go; openapi-gen alone imports it, and alone takes v0.24.1",
    replace="golang.org/x/tools => golang.org/x/tools v0.24.1",
    generators_only=True,
)

# golang.org/x/net from late 2021 until v0.3 reaches syscall.recvmsg and syscall.sendmsg on Linux by
# go:linkname, which Go 1.23's linker refuses ("invalid reference to syscall.recvmsg"). The symbols are
# still there, so switching the check off keeps the module's own x/net instead of moving to a newer one.
CHECKLINKNAME = Fix(
    why="x/net of 2022 linknames syscall.recvmsg, which Go 1.23's linker refuses; the symbol is still there",
    ldflag="-checklinkname=0",
)
