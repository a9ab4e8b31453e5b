"""What the user wrote: the ``kindling:*`` keys of a stack, each checked for its type and form.

``StackConfig`` mirrors the keys one to one (pydantic checks each value); anything that needs
several keys at once, or the catalog, is kindling/spec.py's. Every problem is reported as
``kindling:<key>: <what is wrong>; <what is allowed>``, all of them together, before any
resource exists.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from kindling import catalog
from kindling.charts import Chart
from kindling.contract import CONTROL_PLANE_COUNTS
from kindling.local_images import LoadableImage
from kindling.versions import is_exact_version, parse_release

NAMESPACE = "kindling"

CNI_CHOICES = ("calico", "flannel", "none")
SECURITY_MODES = ("privileged", "capabilities")
# How nodes run: Docker containers, or systemd-nspawn machines (README, "Node runtimes").
NODE_RUNTIMES = ("docker", "nspawn")

DEFAULT_DOWNLOADS = {
    "kubernetes": "https://dl.k8s.io/release",
    "containerd": "https://github.com/containerd/containerd/releases/download",
    "runc": "https://github.com/opencontainers/runc/releases/download",
    "cniPlugins": "https://github.com/containernetworking/plugins/releases/download",
    "crictl": "https://github.com/kubernetes-sigs/cri-tools/releases/download",
    "helm": "https://get.helm.sh",
    "calico": "https://github.com/projectcalico/calico/releases/download",
    "flannel": "https://github.com/flannel-io/flannel/releases/download",
}

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class SpecError(pulumi.RunError):
    """Stack configuration that kindling refuses; raised before any resource exists."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid kindling configuration:\n{listing}")


def _json_if_text(value: Any) -> Any:
    """The engine hands every config value to the program as a string;
    structured keys arrive as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON/YAML structure ({exc.msg})") from None
    return value


Structured = BeforeValidator(_json_if_text)


def _exact_version(value: str) -> str:
    if not is_exact_version(value):
        raise ValueError(f"{value!r} is not an exact version; give MAJOR.MINOR.PATCH such as 1.4.0")
    return value


def _exact_version_or_none(value: str) -> str:
    if value == catalog.NOT_INSTALLED:
        return value
    if not is_exact_version(value):
        raise ValueError(
            f"{value!r} is neither an exact version such as 1.18.0 nor {catalog.NOT_INSTALLED!r} (leave it out)"
        )
    return value


def _pinned_image(value: str) -> str:
    """Image references must carry an explicit tag or digest other than latest."""
    if "@" in value:
        _, digest = value.split("@", 1)
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise ValueError(f"{value!r} has a malformed digest; expected sha256:<64 hex digits>")
        return value
    last = value.rsplit("/", 1)[-1]
    if ":" not in last:
        raise ValueError(f"{value!r} has no tag; pin a version tag or a sha256 digest, never latest")
    if last.rsplit(":", 1)[1] in ("", "latest"):
        raise ValueError(f"{value!r} uses the latest tag; pin a version tag or a sha256 digest")
    return value


def _download_base(value: str) -> str:
    if re.match(r"^(https?|file)://\S+$", value) or value.startswith("/"):
        return value.rstrip("/")
    raise ValueError(
        f"{value!r} is not a download base; give an http(s):// URL, a file:// URL or an absolute directory"
    )


def _node_subnet(value: Any) -> Any:
    if value == "auto" or isinstance(value, ipaddress.IPv4Network):
        return value
    try:
        return ipaddress.IPv4Network(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is neither auto nor an IPv4 network such as 10.19.1.0/24") from None


def _whole_number(allowed: str, accepts: Callable[[int], bool]):
    def check(value: Any) -> int:
        try:
            number = int(str(value), 10)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number; allowed: {allowed}") from None
        if not accepts(number):
            raise ValueError(f"{number} is out of range; allowed: {allowed}")
        return number

    return BeforeValidator(check)


def _int_between(low: int, high: int | None, allowed: str):
    return _whole_number(allowed, lambda number: low <= number and (high is None or number <= high))


def _int_of(choices: tuple[int, ...]):
    return _whole_number(", ".join(map(str, choices[:-1])) + f" or {choices[-1]}", choices.__contains__)


ExactVersion = Annotated[str, BeforeValidator(str), BeforeValidator(_exact_version)]
OptionalTool = Annotated[str, BeforeValidator(str), BeforeValidator(_exact_version_or_none)]
# After str's own validation, so that a number or a JSON object is refused as "not a string".
PinnedImage = Annotated[str, AfterValidator(_pinned_image)]
DownloadBase = Annotated[str, AfterValidator(_download_base)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class ComponentOverrides(_Model):
    """``kindling:components``: replace any catalog version for this stack."""

    containerd: ExactVersion | None = None
    runc: ExactVersion | None = None
    cni_plugins: ExactVersion | None = None
    crictl: OptionalTool | None = Field(None, description="cri-tools version, or none to leave crictl out")
    helm: ExactVersion | None = None
    calico: ExactVersion | None = Field(None, description="tigera-operator chart version")
    flannel: ExactVersion | None = Field(None, description="flannel chart version")
    base_image: PinnedImage | None = None


class Downloads(_Model):
    """``kindling:downloads``: where node image artifacts come from (mirrors welcome)."""

    kubernetes: DownloadBase = DEFAULT_DOWNLOADS["kubernetes"]
    containerd: DownloadBase = DEFAULT_DOWNLOADS["containerd"]
    runc: DownloadBase = DEFAULT_DOWNLOADS["runc"]
    cni_plugins: DownloadBase = DEFAULT_DOWNLOADS["cniPlugins"]
    crictl: DownloadBase = DEFAULT_DOWNLOADS["crictl"]
    helm: DownloadBase = DEFAULT_DOWNLOADS["helm"]
    calico: DownloadBase = DEFAULT_DOWNLOADS["calico"]
    flannel: DownloadBase = DEFAULT_DOWNLOADS["flannel"]
    apt: DownloadBase | None = Field(None, description="Debian/Ubuntu mirror replacing the base image's apt sources")


class StackConfig(_Model):
    """Every ``kindling:*`` key a stack may set. Defaults here are the only defaults;
    ``Pulumi.yaml`` repeats them for the CLI and a test keeps the two equal."""

    kubernetes_version: str = Field(description="Exact Kubernetes release, e.g. 1.19.1")
    components: Annotated[ComponentOverrides, Structured] = Field(
        default_factory=ComponentOverrides,
        description="Overrides of the catalog's component versions for this release",
    )
    node_image: Annotated[PinnedImage | None, BeforeValidator(lambda v: v or None)] = Field(
        None, description="Prebuilt node image to use instead of building one"
    )
    workers: Annotated[int, _int_between(0, None, "0 or more")] = Field(
        0, description="Number of worker nodes besides the control plane"
    )
    control_planes: Annotated[int, _int_of(CONTROL_PLANE_COUNTS)] = Field(
        1, description="Control-plane nodes; more than one are stacked etcd members behind a load balancer"
    )
    api_server_address: ipaddress.IPv4Address = Field(
        ipaddress.IPv4Address("127.0.0.1"), description="Host address the API server port is published on"
    )
    api_server_port: Annotated[int, _int_between(0, 65535, "0 (a free port, picked once) or 1-65535")] = Field(
        0, description="Host port for the API server; 0 picks a free one once, when the cluster is created"
    )
    pod_subnet: ipaddress.IPv4Network = Field(ipaddress.IPv4Network("10.244.0.0/16"))
    service_subnet: ipaddress.IPv4Network = Field(ipaddress.IPv4Network("10.96.0.0/12"))
    node_subnet: Annotated[Literal["auto"] | ipaddress.IPv4Network, BeforeValidator(_node_subnet)] = Field(
        "auto", description="Docker network for the nodes; auto is 10.<minor>.<patch>.0/24"
    )
    kube_proxy_mode: Literal["iptables", "ipvs", "nftables"] = "iptables"
    cni: Literal["calico", "flannel", "none"] = "flannel"
    charts: Annotated[list[Chart], Structured] = Field(default_factory=list)
    node_security: Literal["privileged", "capabilities"] = "privileged"
    node_runtime: Literal["docker", "nspawn"] = Field(
        "docker", description="How nodes run: docker containers, or nspawn (systemd-nspawn machines)"
    )
    image_repository: str = Field("registry.k8s.io", description="Registry of the control-plane images")
    preload_images: Annotated[list[PinnedImage], Structured] = Field(
        default_factory=list, description="Local Docker images loaded into every node before kubeadm runs"
    )
    images: Annotated[list[LoadableImage], Structured] = Field(default_factory=list)
    downloads: Annotated[Downloads, Structured] = Field(default_factory=Downloads)
    keep_build_cache: bool = Field(False, description="Keep the node image's BuildKit cache on destroy")
    snapshot: Annotated[str | None, BeforeValidator(lambda v: v or None)] = Field(
        None, pattern=_DNS_LABEL.pattern, max_length=40, description="Start from this snapshot (make snapshot)"
    )

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _release(cls, value: Any) -> str:
        text = str(value)
        try:
            parse_release(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is not an exact Kubernetes release; give MAJOR.MINOR.PATCH such as 1.19.1"
            ) from None
        return text.removeprefix("v")

    @field_validator("image_repository")
    @classmethod
    def _registry(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*", value):
            raise ValueError(f"{value!r} is not a registry path such as registry.k8s.io or mirror.local:5000/k8s")
        return value


def _config_key(loc: tuple[Any, ...]) -> str:
    key = f"{NAMESPACE}:"
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            name = to_camel(part) if "_" in part else part
            key += name if key.endswith(":") else f".{name}"
    return key


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    if error["type"] == "extra_forbidden":
        return f"{_config_key(loc)} is not a known setting"
    if error["type"] == "missing":
        return f"{_config_key(loc)} is required"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] != "value_error":
        # Pydantic's own messages say what is allowed ("Input should be
        # 'calico', 'flannel' or 'none'") but not what was given.
        message = f"got {error.get('input')!r}; {message[0].lower()}{message[1:]}"
    return f"{_config_key(loc)}: {message}"


def _unknown_keys(raw: dict[str, Any]) -> list[str]:
    known = {to_camel(name) for name in StackConfig.model_fields}
    problems = []
    for key in sorted(raw):
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {NAMESPACE}:{close[0]}?" if close else ""
            problems.append(f"{NAMESPACE}:{key} is not a kindling setting{hint}")
    return problems


def parse_stack_config(raw: dict[str, Any]) -> StackConfig:
    """Validate raw ``kindling:*`` values (keys without the namespace)."""
    problems = _unknown_keys(raw)
    # A key the engine passes without a value means "not set".
    known = {k: v for k, v in raw.items() if k in {to_camel(n) for n in StackConfig.model_fields} and v is not None}
    try:
        config = StackConfig.model_validate(known)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(_describe(error))
        raise SpecError(problems) from None
    if problems:
        raise SpecError(problems)
    return config


def raw_stack_config() -> dict[str, Any]:
    """All ``kindling:*`` values the engine passed to this program, namespace stripped.

    pulumi.Config only answers for keys one asks about; reading the whole
    namespace lets a misspelt key be refused instead of silently ignored.
    """
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix) :]: v for k, v in merged.items() if k.startswith(prefix)}
