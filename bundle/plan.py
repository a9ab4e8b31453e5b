"""What a release bundle holds, and where each piece's source comes from (pure, no I/O).

A plan joins the version catalog (which versions a release runs) with the source
table (how each version is rebuilt from the Go module proxy). It names every
build step, every image kubeadm and flannel need, and everything that cannot be
had here, before anything is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from kindling import catalog, sources
from kindling.versions import parse_release


@dataclass(frozen=True)
class Step:
    """One thing to build: a component at a version, from one source."""

    component: str  # kubernetes, containerd, runc, cni-plugins, flannel-cni, crictl, helm, etcd, coredns, ...
    version: str
    source: sources.GoSource | None  # None for pause, which is C from a Kubernetes tree
    pause_tree: str = ""  # for pause: the k8s.io/kubernetes version holding that pause tag

    @property
    def label(self) -> str:
        return f"{self.component} {self.version}"


@dataclass(frozen=True)
class Missing:
    component: str
    version: str
    reason: str
    instead: str = ""  # empty: the bundle cannot be built


@dataclass(frozen=True)
class Plan:
    release: str
    components: catalog.Components
    steps: tuple[Step, ...]
    missing: tuple[Missing, ...] = field(default=())
    debian_suite: str = ""
    # Components the bundle builds at another version than the catalog's (a stack's kindling:components).
    overrides: tuple[tuple[str, str], ...] = ()

    @property
    def buildable(self) -> bool:
        return all(item.instead for item in self.missing)

    @property
    def substitutions(self) -> tuple[Missing, ...]:
        """What the bundle leaves out or replaces, and with what."""
        return tuple(item for item in self.missing if item.instead)

    @property
    def crictl(self) -> str:
        return next((s.version for s in self.steps if s.component == "crictl"), catalog.NOT_INSTALLED)

    def step(self, component: str) -> Step:
        return next(s for s in self.steps if s.component == component)


def staging_version(release: str) -> str:
    """The version staging modules are published at for a release: 1.19.1 -> v0.19.1."""
    _, minor, patch = release.split(".")
    return f"v0.{minor}.{patch}"


def _staging_substitutes(release: str, source: sources.GoSource) -> list[Missing]:
    """Staging modules a release's fixes take at another patch than the release's own tag: code in its
    binaries that is not the release's, which the plan and the table name."""
    own = staging_version(release)
    found = []
    for fix in source.fixes:
        old, _, new = fix.replace.partition(" => ")
        name, _, version = new.partition(" ")
        if old.startswith("k8s.io/") and name == old and version != own:
            found.append(Missing(old, own.removeprefix("v"), fix.why, f"{old} {version.removeprefix('v')}"))
    return found


def _lookup(table: dict, component: str, version: str, steps: list[Step], missing: list[Missing]) -> None:
    source = table.get(version)
    if source is None:
        missing.append(Missing(component, version, f"no source facts for {component} {version} in kindling/sources/"))
    else:
        steps.append(Step(component, version, source))


def nearest_served(wanted: str, served: list[str]) -> str:
    """The served version whose minor is closest to ``wanted``'s; on a tie, the older one."""
    target = parse_release(wanted)

    def distance(candidate: str) -> tuple[int, bool]:
        version = parse_release(candidate)
        return abs(version.minor - target.minor) + 100 * abs(version.major - target.major), version > target

    return min(sorted(served, key=parse_release), key=distance)


def _plan_crictl(components: catalog.Components, steps: list[Step], missing: list[Missing]) -> None:
    """The release's own crictl where the proxy serves it, else the nearest served line the node's containerd speaks."""
    wanted = components.crictl
    if wanted in sources.CRICTL:
        steps.append(Step("crictl", wanted, sources.CRICTL[wanted]))
        return
    if not catalog.containerd_serves_cri_v1(components.containerd):
        missing.append(
            Missing(
                "crictl",
                wanted,
                f"the proxy serves cri-tools only from 1.26.1, which speaks only the v1 CRI that containerd "
                f"{components.containerd} lacks",
                "no crictl in the node (components.crictl: none); ctr and kubectl do its jobs",
            )
        )
        return
    nearest = nearest_served(wanted, list(sources.CRICTL))
    missing.append(
        Missing(
            "crictl",
            wanted,
            f"the proxy does not serve cri-tools {wanted}",
            f"crictl {nearest}, the nearest line it serves (v1 CRI, as containerd {components.containerd} speaks)",
        )
    )
    steps.append(Step("crictl", nearest, sources.CRICTL[nearest]))


def plan_release(release: str) -> Plan:
    """Everything ``make bundle RELEASE=<release>`` builds; raises LookupError for a release outside the catalog."""
    kubernetes = parse_release(release)
    components = catalog.catalog_release(kubernetes)
    if components is None:
        raise LookupError(f"{release} is not a catalog release (known: {', '.join(catalog.known_releases())})")
    traits = catalog.traits_for(kubernetes)
    steps: list[Step] = []
    missing: list[Missing] = []

    k8s = sources.KUBERNETES.get(release)
    if k8s is None:
        missing.append(Missing("kubernetes", release, f"no source facts for Kubernetes {release} in kindling/sources/"))
    else:
        steps.append(Step("kubernetes", release, k8s.source))
        missing.extend(_staging_substitutes(release, k8s.source))
    substitute = sources.CONTAINERD_SUBSTITUTES.get(components.containerd)
    overrides: tuple[tuple[str, str], ...] = ()
    if substitute:
        instead = f"containerd {substitute.version}, the nearest line that builds with its CRI plugin"
        missing.append(Missing("containerd", components.containerd, substitute.reason, instead))
        components = dataclasses.replace(components, containerd=substitute.version)
        overrides = (("containerd", substitute.version),)
    _lookup(sources.CONTAINERD, "containerd", components.containerd, steps, missing)
    _lookup(sources.RUNC, "runc", components.runc, steps, missing)
    _lookup(sources.CNI_PLUGINS, "cni-plugins", components.cni_plugins, steps, missing)
    _lookup(sources.CNI_PLUGINS, "flannel-cni", sources.FLANNEL_CNI_PLUGIN_SOURCE, steps, missing)
    _plan_crictl(components, steps, missing)
    _lookup(sources.HELM, "helm", components.helm, steps, missing)
    if k8s is not None:
        _lookup(sources.ETCD, "etcd", k8s.etcd, steps, missing)
        for tool, substitute in sources.ETCD_TOOL_SUBSTITUTES.get(k8s.etcd, {}).items():
            instead = f"{tool} {substitute.version.removeprefix('v')} in the etcd {k8s.etcd} image"
            missing.append(Missing(tool, k8s.etcd.split("-")[0], substitute.reason, instead))
        _lookup(sources.COREDNS, "coredns", k8s.coredns, steps, missing)
    pause_tree = sources.PAUSE.get(traits.pause_version)
    if pause_tree is None:
        missing.append(Missing("pause", traits.pause_version, "no Kubernetes tree known to hold this pause tag"))
    else:
        steps.append(Step("pause", traits.pause_version, None, pause_tree=pause_tree))
    _lookup(sources.FLANNEL, "flannel", components.flannel, steps, missing)

    suite = sources.DEBIAN_SUITE_FOR_BASE.get(components.base_image, "")
    if not suite:
        missing.append(Missing("base-image", components.base_image, "no Debian suite chosen for this base image"))
    else:
        missing.append(
            Missing(
                "base-image",
                components.base_image,
                "Ubuntu's archive is unreachable here",
                f"Debian {suite} made with debootstrap (components.baseImage)",
            )
        )
    return Plan(release, components, tuple(steps), tuple(missing), suite, overrides)
