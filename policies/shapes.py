"""How kindling's resources look to a policy: engine property names, preview unknowns, kubeadm YAML.

The engine hands a policy each resource's properties by their engine names
(camelCase: ``mounts[].readOnly``, ``securityOpts``, ``ports[].ip``) wrapped in
pulumi-policy's unknown-checking proxy, which raises ``UnknownValueError`` when
a value that only exists after an update (an image id, say) is read during a
preview. ``plain`` turns such props into ordinary dicts and lists in which
every unknown is the ``UNKNOWN`` marker, so each policy decides explicitly what
an unknown means for it instead of crashing half way.

Labels, ports and script names come from ``kindling/contract.py``, which imports
nothing, so the pack needs neither pulumi providers nor pydantic.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from kindling.contract import (  # the names the program and this pack share
    ADDONS_TYPE,
    CNI_RELEASES,
    LABEL_CLUSTER,
    LABEL_ROLE,
    LOAD_BALANCER_ROLE,
    NODE_ROLES,
)

# Resource types, as the engine names them.
CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
COMMAND = "command:local:Command"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"

KUBEADM_GROUP = "kubeadm.k8s.io"


class _Unknown:
    """A value the engine does not know yet (a preview of something not created)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()
_SENTINELS = frozenset(
    (
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    )
)


def _read(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError:
        return UNKNOWN


def plain(value: Any) -> Any:
    """Props (proxied or not) as plain dicts and lists, unknowns as ``UNKNOWN``."""
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, Mapping):
        return {key: plain(_read(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [plain(_read(value, index)) for index in range(len(value))]
    return value


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


@dataclass(frozen=True)
class Resource:
    """One resource as a policy sees it, props already made plain."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    additional_secret_outputs: tuple[str, ...] = ()

    @classmethod
    def of(cls, args: Any) -> Resource:
        """From a ``ResourceValidationArgs`` or a stack validation's ``PolicyResource``."""
        opts = getattr(args, "opts", None)
        secret_outputs = tuple(getattr(opts, "additional_secret_outputs", None) or ())
        return cls(args.resource_type, args.name, args.urn, plain(args.props), secret_outputs)

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default)


# --- node containers --------------------------------------------------------------------------


def labels(props: dict[str, Any]) -> dict[str, Any] | Any:
    """A container's labels as a dict; ``UNKNOWN`` when the list itself is unknown.

    The docker provider takes labels as a list of ``{label, value}``; a mapping is accepted too.
    """
    raw = props.get("labels")
    if raw is None:
        return {}
    if raw is UNKNOWN:
        return UNKNOWN
    if isinstance(raw, dict):
        return dict(raw)
    found: dict[str, Any] = {}
    for item in raw:
        if item is UNKNOWN or (isinstance(item, dict) and item.get("label") is UNKNOWN):
            return UNKNOWN  # any label might be the one that matters
        if isinstance(item, dict) and isinstance(item.get("label"), str):
            found[item["label"]] = item.get("value")
    return found


def _cluster_container_with_role(props: dict[str, Any], roles: tuple[str, ...]) -> bool | Any:
    """Whether a container is labelled with a cluster and one of ``roles`` (``UNKNOWN`` if its labels are)."""
    found = labels(props)
    if found is UNKNOWN:
        return UNKNOWN
    cluster, role = found.get(LABEL_CLUSTER), found.get(LABEL_ROLE)
    if cluster is UNKNOWN or role is UNKNOWN:
        return UNKNOWN
    return isinstance(cluster, str) and cluster != "" and role in roles


def is_node(props: dict[str, Any]) -> bool | Any:
    """Whether a container is labelled as a kindling node (``UNKNOWN`` if its labels are)."""
    return _cluster_container_with_role(props, NODE_ROLES)


def is_load_balancer(props: dict[str, Any]) -> bool | Any:
    """Whether a container is labelled as a cluster's API server load balancer (``UNKNOWN`` if its labels are)."""
    return _cluster_container_with_role(props, (LOAD_BALANCER_ROLE,))


def normalized_path(path: str) -> str:
    """An absolute path without redundant parts ("" for an empty one); Docker binds absolute paths only."""
    stripped = path.strip().lstrip("/")
    return posixpath.normpath("/" + stripped) if path.strip() else ""


# The host's kernel modules live in /lib/modules; on merged-/usr hosts /lib is a
# link to /usr/lib, so /usr/lib/modules is the same directory.
MODULE_DIRECTORIES = ("/lib/modules", "/usr/lib/modules")


def exposes_host_modules(source: str) -> bool:
    """A host path that is, contains or lies inside the host's kernel module directory."""
    path = normalized_path(source)
    if not path:
        return False
    for directory in MODULE_DIRECTORIES:
        if path == directory or path.startswith(directory + "/") or directory.startswith(path.rstrip("/") + "/"):
            return True
    return False


@dataclass(frozen=True)
class HostBind:
    """A host path bound into a container, from ``mounts`` (type bind) or ``volumes`` (hostPath)."""

    source: Any
    target: Any
    read_only: Any
    where: str


def host_binds(props: dict[str, Any]) -> list[HostBind] | Any:
    mounts, volumes = props.get("mounts") or [], props.get("volumes") or []
    if mounts is UNKNOWN or volumes is UNKNOWN:
        return UNKNOWN
    binds = []
    for index, mount in enumerate(mounts):
        if mount is UNKNOWN:
            return UNKNOWN
        if mount.get("type") in ("bind", UNKNOWN):
            binds.append(
                HostBind(mount.get("source"), mount.get("target"), mount.get("readOnly", False), f"mounts[{index}]")
            )
    for index, volume in enumerate(volumes):
        if volume is UNKNOWN:
            return UNKNOWN
        if volume.get("hostPath"):
            binds.append(
                HostBind(
                    volume.get("hostPath"),
                    volume.get("containerPath"),
                    volume.get("readOnly", False),
                    f"volumes[{index}]",
                )
            )
    return binds


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


# --- Commands and the kubeadm configuration ---------------------------------------------------


def component_type(urn: str) -> str | None:
    """The type of the component a resource is the child of, from its URN (None: the stack's own)."""
    types = urn.split("::")[2].split("$") if urn.count("::") >= 3 else []
    return types[-2] if len(types) >= 2 and types[-2] != "pulumi:pulumi:Stack" else None


def is_step(resource: Resource, component: str, step: str) -> bool:
    """Whether ``resource`` is the Command ``step`` of a ``component`` (named "<component>-<step>")."""
    return resource.type == COMMAND and component_type(resource.urn) == component and resource.name.endswith(f"-{step}")


def cni_release(resource: Resource) -> str | None:
    """The pod network a Helm release of the add-ons component installs ("calico", "flannel"), if it is one."""
    if resource.type != HELM_RELEASE or component_type(resource.urn) != ADDONS_TYPE:
        return None
    name = resource.get("name")
    return name if name in CNI_RELEASES else None


class ConfigError(ValueError):
    """A kubeadm configuration that cannot be read."""


def kubeadm_documents(text: str) -> list[dict[str, Any]]:
    """The documents of a multi-document kubeadm configuration."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"it is not valid YAML ({str(exc).splitlines()[0]})") from None
    for document in documents:
        if not isinstance(document, dict) or not isinstance(document.get("kind"), str):
            raise ConfigError("one of its documents is not a Kubernetes object with a kind")
    return documents


def by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {document["kind"]: document for document in documents}


def is_kubeadm_document(document: dict[str, Any]) -> bool:
    api = document.get("apiVersion")
    return isinstance(api, str) and api.split("/", 1)[0] == KUBEADM_GROUP


# --- versions and image references -------------------------------------------------------------

_SEMVER = r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?"
_FIRST_SEGMENT_VERSION = re.compile(rf"^v(?P<version>{_SEMVER})/")
_EMBEDDED_VERSION = re.compile(rf"-v(?P<version>{_SEMVER})-linux-")

# Manifest artifact names (kindling/artifacts.py) -> catalog.Components fields.
ARTIFACT_COMPONENTS = {
    "containerd": "containerd",
    "runc": "runc",
    "cni-plugins": "cni_plugins",
    "crictl": "crictl",
    "helm": "helm",
}
KUBERNETES_ARTIFACTS = ("kubeadm", "kubelet", "kubectl")


def artifact_versions(manifest: str) -> dict[str, str]:
    """Artifact name -> version, from the node image's ``KINDLING_ARTIFACTS`` build argument.

    Each line is ``name source path checksum install``; the version is the
    path's first segment (``v1.4.0/containerd-...``) or, for helm, part of the
    file name (``helm-v3.4.0-linux-{arch}.tar.gz``).
    """
    versions = {}
    for line in manifest.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        name, path = fields[0], fields[2]
        match = _FIRST_SEGMENT_VERSION.match(path) or _EMBEDDED_VERSION.search(path)
        if match:
            versions[name] = match.group("version")
    return versions


def image_reference_problem(reference: str) -> str | None:
    """Why an image reference is not pinned to one image, or None when it is."""
    if "@" in reference:
        digest = reference.split("@", 1)[1]
        if re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return None
        return f"{reference!r} has a malformed digest (expected sha256:<64 hex digits>)"
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"{reference!r} has no tag, which means latest"
    if last.rsplit(":", 1)[1] in ("", "latest"):
        return f"{reference!r} uses the latest tag"
    return None


def networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A CIDR or kubeadm's comma-separated dual-stack list of CIDRs."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
