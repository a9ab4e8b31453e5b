"""The version catalog: what a node of each Kubernetes release is built from.

Two kinds of data live here, each in one table:

* ``RELEASES``: per Kubernetes release, the known-good component versions
  (containerd, runc, CNI plugins, crictl, helm, the node's base OS and the
  Calico tigera-operator chart). Adding a release is one new row.
* ``*_RULES``: facts that follow from the Kubernetes version alone (kubeadm
  config API, kubelet cgroup driver, control-plane taints, pause image, host
  requirements). They are version ranges rather than per-row columns so that a
  release outside the catalog, given with explicit components, still gets the
  right traits.

This module is deliberately dependency-light (only ``semver``) because the
policy pack imports it too.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Generic, TypeVar

from kindling.versions import Version, minor_of, parse_release

T = TypeVar("T")


# A component version meaning "leave it out of the node": only crictl may be left out, for
# releases whose crictl cannot be built offline (see kindling/sources/).
NOT_INSTALLED = "none"


@dataclass(frozen=True)
class Components:
    """Versions of everything installed in a node image besides Kubernetes."""

    containerd: str
    runc: str
    cni_plugins: str
    crictl: str
    helm: str
    calico: str
    base_image: str
    # flannel's chart line supports Kubernetes 1.17+, so one pin serves every
    # release (untested below 1.22, where flannel first published a chart).
    flannel: str = "v0.26.7"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def required_names(cls) -> tuple[str, ...]:
        """Components without a release-independent default."""
        return tuple(f.name for f in fields(cls) if f.default is MISSING)


def _row(kubernetes, containerd, runc, cni, crictl, helm, base_image, calico):
    return kubernetes, Components(
        containerd=containerd,
        runc=runc,
        cni_plugins=cni,
        crictl=crictl,
        helm=helm,
        calico=calico,
        base_image=base_image,
    )


# Known-good sets as published by the docker_archive node images (see
# ../shared/reference/version-matrix.md in the steering repository).
# Calico: the tigera-operator chart of the minor the matrix names, newest
# patch where the matrix gives only a minor. Calico 3.16 (the matrix's choice
# for 1.19) never had a chart; 3.18, tested with Kubernetes 1.18 to 1.20, takes
# its place. 3.18 and 3.19 charts carry a "-1" chart release suffix.
# crictl: where the matrix has none (1.34, 1.35), cri-tools' release of the
# same minor, as cri-tools versions track Kubernetes minors.
RELEASES: dict[str, Components] = dict(
    [
        #    kubernetes containerd runc          cni     crictl    helm      base image      calico
        _row("1.18.2", "1.3.3", "1.0.0-rc10", "0.8.5", "1.18.0", "3.2.4", "ubuntu:20.04", "v3.18.6-1"),
        _row("1.19.1", "1.4.0", "1.0.0-rc92", "0.8.7", "1.18.0", "3.4.0", "ubuntu:20.04", "v3.18.6-1"),
        _row("1.20.2", "1.4.0", "1.0.0-rc92", "0.9.0", "1.19.0", "3.5.0", "ubuntu:20.04", "v3.18.6-1"),
        _row("1.21.1", "1.5.1", "1.0.0-rc94", "0.9.1", "1.21.0", "3.6.0", "ubuntu:20.04", "v3.19.4-1"),
        _row("1.22.0", "1.5.2", "1.0.0-rc95", "0.9.1", "1.21.0", "3.7.0", "ubuntu:20.04", "v3.21.6"),
        _row("1.23.0", "1.5.2", "1.0.0-rc95", "0.9.1", "1.21.0", "3.8.0", "ubuntu:20.04", "v3.22.5"),
        _row("1.24.0", "1.6.4", "1.0.0-rc95", "1.1.1", "1.23.0", "3.9.0", "ubuntu:20.04", "v3.24.5"),
        _row("1.25.0", "1.6.7", "1.1.3", "1.1.1", "1.24.0", "3.10.0", "ubuntu:22.04", "v3.24.5"),
        _row("1.26.0", "1.6.9", "1.1.4", "1.1.1", "1.25.0", "3.11.0", "ubuntu:22.04", "v3.25.2"),
        _row("1.27.0", "1.6.19", "1.1.4", "1.2.0", "1.26.1", "3.12.0", "ubuntu:22.04", "v3.25.2"),
        _row("1.28.0", "1.6.21", "1.1.7", "1.3.0", "1.27.0", "3.13.0", "ubuntu:22.04", "v3.25.2"),
        _row("1.29.0", "1.7.1", "1.1.7", "1.3.0", "1.27.0", "3.14.0", "ubuntu:22.04", "v3.27.5"),
        _row("1.30.0", "1.7.15", "1.1.12", "1.4.1", "1.29.0", "3.15.0", "ubuntu:22.04", "v3.28.5"),
        _row("1.31.0", "1.7.18", "1.1.12", "1.5.1", "1.30.0", "3.16.0", "ubuntu:22.04", "v3.29.7"),
        _row("1.32.2", "2.0.3", "1.2.5", "1.4.0", "1.32.0", "3.16.4", "ubuntu:24.04", "v3.29.7"),
        _row("1.33.4", "2.1.4", "1.3.0", "1.4.1", "1.33.0", "3.18.4", "ubuntu:24.04", "v3.30.6"),
        _row("1.34.0", "2.1.4", "1.3.0", "1.7.1", "1.34.0", "3.19.0", "ubuntu:24.04", "v3.30.4"),
        _row("1.35.0", "2.2.0", "1.3.3", "1.8.0", "1.35.0", "4.0.4", "ubuntu:24.04", "v3.31.3"),
    ]
)


@dataclass(frozen=True)
class Rule(Generic[T]):
    """``value`` holds for Kubernetes versions in [since, until)."""

    since: tuple[int, int]
    until: tuple[int, int] | None
    value: T

    def covers(self, minor: tuple[int, int]) -> bool:
        return self.since <= minor and (self.until is None or minor < self.until)


def _lookup(rules: tuple[Rule[T], ...], version: Version, what: str) -> T:
    minor = minor_of(version)
    for rule in rules:
        if rule.covers(minor):
            return rule.value
    raise LookupError(f"no {what} is known for Kubernetes {version}")


OLDEST_SUPPORTED = (1, 18)

# kubeadm's configuration API. v1beta2 has no skipPhases field, so the
# preflight phase is skipped on the command line for every version alike.
KUBEADM_API_RULES = (
    Rule((1, 18), (1, 23), "kubeadm.k8s.io/v1beta2"),
    Rule((1, 23), (1, 31), "kubeadm.k8s.io/v1beta3"),
    Rule((1, 31), None, "kubeadm.k8s.io/v1beta4"),
)

# The kubelet and containerd must agree on the cgroup driver.
CGROUP_DRIVER_RULES = (
    Rule((1, 18), (1, 24), "cgroupfs"),
    Rule((1, 24), None, "systemd"),
)

# Taints kubeadm puts on the first control-plane node; a cluster without
# workers must remove them or nothing schedules.
CONTROL_PLANE_TAINT_RULES = (
    Rule((1, 18), (1, 24), ("node-role.kubernetes.io/master",)),
    Rule((1, 24), (1, 25), ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane")),
    Rule((1, 25), None, ("node-role.kubernetes.io/control-plane",)),
)

# The pause (sandbox) image kubeadm pre-pulls; containerd is configured to use
# the same one so a node never needs a second pause image.
PAUSE_VERSION_RULES = (
    Rule((1, 18), (1, 21), "3.2"),
    Rule((1, 21), (1, 22), "3.4.1"),
    Rule((1, 22), (1, 23), "3.5"),
    Rule((1, 23), (1, 24), "3.6"),
    Rule((1, 24), (1, 25), "3.7"),
    Rule((1, 25), (1, 26), "3.8"),
    Rule((1, 26), (1, 31), "3.9"),
    Rule((1, 31), (1, 34), "3.10"),
    Rule((1, 34), None, "3.10.1"),
)

# kube-proxy modes usable without feature gates.
KUBE_PROXY_MODE_RULES = (
    Rule((1, 18), (1, 31), ("iptables", "ipvs")),
    Rule((1, 31), None, ("iptables", "ipvs", "nftables")),
)

# Host requirements. The kubelet runs under the unified cgroup hierarchy from
# 1.19; from 1.35 it refuses cgroup v1 unless told otherwise.
CGROUP_V2_SUPPORTED_RULES = (
    Rule((1, 18), (1, 19), False),
    Rule((1, 19), None, True),
)
FAIL_CGROUP_V1_SETTING_RULES = (
    Rule((1, 18), (1, 35), False),
    Rule((1, 35), None, True),
)

# containerd's config.toml schema: version 2 from containerd 1.3, version 3
# from containerd 2.0.
CONTAINERD_CONFIG_VERSION_RULES = (
    Rule((1, 3), (2, 0), 2),
    Rule((2, 0), None, 3),
)


# containerd before 1.5 gives privileged containers every capability the kernel knows
# (WithAllCapabilities), not those of its own bounding set; a node without some of them (hosts that
# refuse --privileged) needs runc wrapped so that it is handed only what the node has.
CONTAINERD_GRANTS_ALL_CAPABILITIES_RULES = (
    Rule((1, 0), (1, 5), True),
    Rule((1, 5), None, False),
)


# crictl from cri-tools 1.26 on speaks only the v1 CRI, which containerd serves from 1.6.
CONTAINERD_SERVES_CRI_V1_RULES = (
    Rule((1, 0), (1, 6), False),
    Rule((1, 6), None, True),
)


# The flannel CNI plugin shipped with containernetworking/plugins until 0.9.x; later it lives in
# flannel-io/cni-plugin, whose copy the flannel chart installs.
CNI_PLUGINS_SHIP_FLANNEL_RULES = (
    Rule((0, 0), (1, 0), True),
    Rule((1, 0), None, False),
)


@dataclass(frozen=True)
class ReleaseTraits:
    """Everything kindling derives from a Kubernetes version."""

    kubernetes: Version
    kubeadm_api: str
    cgroup_driver: str
    control_plane_taints: tuple[str, ...]
    pause_version: str
    kube_proxy_modes: tuple[str, ...]
    supports_cgroup_v2: bool
    needs_fail_cgroup_v1_false: bool

    @property
    def kubeadm_api_version(self) -> str:
        """The short form, e.g. ``v1beta3``."""
        return self.kubeadm_api.rsplit("/", 1)[1]


def traits_for(kubernetes: Version) -> ReleaseTraits:
    if minor_of(kubernetes) < OLDEST_SUPPORTED:
        raise LookupError(
            f"Kubernetes {kubernetes} is older than the oldest supported minor "
            f"{OLDEST_SUPPORTED[0]}.{OLDEST_SUPPORTED[1]}"
        )
    return ReleaseTraits(
        kubernetes=kubernetes,
        kubeadm_api=_lookup(KUBEADM_API_RULES, kubernetes, "kubeadm API"),
        cgroup_driver=_lookup(CGROUP_DRIVER_RULES, kubernetes, "cgroup driver"),
        control_plane_taints=_lookup(CONTROL_PLANE_TAINT_RULES, kubernetes, "taint set"),
        pause_version=_lookup(PAUSE_VERSION_RULES, kubernetes, "pause image"),
        kube_proxy_modes=_lookup(KUBE_PROXY_MODE_RULES, kubernetes, "kube-proxy mode set"),
        supports_cgroup_v2=_lookup(CGROUP_V2_SUPPORTED_RULES, kubernetes, "cgroup v2 support"),
        needs_fail_cgroup_v1_false=_lookup(FAIL_CGROUP_V1_SETTING_RULES, kubernetes, "failCgroupV1 rule"),
    )


def containerd_config_version(containerd: str) -> int:
    return _lookup(CONTAINERD_CONFIG_VERSION_RULES, parse_release(containerd), "containerd config schema")


def containerd_grants_all_capabilities(containerd: str) -> bool:
    return _lookup(
        CONTAINERD_GRANTS_ALL_CAPABILITIES_RULES, parse_release(containerd), "containerd privileged capability set"
    )


def containerd_serves_cri_v1(containerd: str) -> bool:
    return _lookup(CONTAINERD_SERVES_CRI_V1_RULES, parse_release(containerd), "containerd CRI version")


def cni_plugins_ship_flannel(cni_plugins: str) -> bool:
    return _lookup(CNI_PLUGINS_SHIP_FLANNEL_RULES, parse_release(cni_plugins), "flannel CNI plugin source")


# Images only kubeadm's static pods on the control plane run; workers never need them.
CONTROL_PLANE_ONLY_IMAGES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")


def image_name(reference: str) -> str:
    """``registry.k8s.io/kube-apiserver:v1.19.1`` -> ``kube-apiserver``."""
    return reference.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]


def catalog_release(kubernetes: Version) -> Components | None:
    return RELEASES.get(str(kubernetes))


def known_releases() -> list[str]:
    return sorted(RELEASES, key=parse_release)


def images_a_worker_runs(images: tuple[str, ...]) -> list[str]:
    """The preloaded images a worker runs: all but the control plane's static pods'."""
    return [image for image in images if image_name(image) not in CONTROL_PLANE_ONLY_IMAGES]
