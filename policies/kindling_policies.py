"""kindling's CrossGuard policies: the mistakes that break or expose a cluster, caught at preview.

Every policy states its enforcement level and severity, says in its description
what breaks and how to fix it, and reads resource properties by their engine
names through ``shapes``. During a preview some values are not known yet (the
node image id, a container id in a Command's triggers); a policy skips exactly
the check that needs such a value. That is safe: ``pulumi up`` analyses every
resource again just before creating it, when its inputs are known, and a
mandatory violation stops the update there.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import semver
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

# The pack runs from policies/ in its own virtualenv; kindling's catalog (which
# needs only semver) and the shapes module are imported from the repository root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kindling import catalog, contract  # noqa: E402
from kindling.versions import minor_of, parse_release  # noqa: E402
from policies import shapes  # noqa: E402
from policies.shapes import UNKNOWN, Resource  # noqa: E402

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


class Severity(StrEnum):
    """How bad a violation is. pulumi-policy 1.17 (the release that works with the Pulumi engine
    kindling is pinned to) has no severity field, so each policy states it at the head of its
    description, where the CLI prints it, and in SEVERITY."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY: dict[str, Severity] = {}


def _describe(name: str, severity: Severity, breaks: str, fix: str) -> str:
    SEVERITY[name] = severity
    return f"Severity: {severity.value}. {breaks} Fix: {fix}"


ALLOWED_ADDRESSES = "allowedAddresses"


def _allowed_addresses_schema(what: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={
            ALLOWED_ADDRESSES: {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": f"Host addresses besides loopback that {what} may be published on, e.g. 192.168.1.10 "
                "or 0.0.0.0 (every interface). Loopback (127.0.0.0/8, ::1) is always allowed.",
            }
        }
    )


def _allowed(args: Any) -> list[str]:
    config = args.get_config() or {}
    value = config.get(ALLOWED_ADDRESSES, [])
    return [str(a) for a in value] if isinstance(value, list) else []


def _resource_policy(
    name: str,
    *,
    enforcement_level: EnforcementLevel,
    severity: Severity,
    breaks: str,
    fix: str,
    validate: Callable[[Resource, ResourceValidationArgs, ReportViolation], None],
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    def run(args: ResourceValidationArgs, report: ReportViolation) -> None:
        validate(Resource.of(args), args, report)

    return ResourceValidationPolicy(
        name=name,
        description=_describe(name, severity, breaks, fix),
        validate=run,
        enforcement_level=enforcement_level,
        config_schema=config_schema,
    )


def _stack_policy(
    name: str,
    *,
    enforcement_level: EnforcementLevel,
    severity: Severity,
    breaks: str,
    fix: str,
    validate: Callable[[list[Resource], StackValidationArgs, ReportViolation], None],
) -> StackValidationPolicy:
    def run(args: StackValidationArgs, report: ReportViolation) -> None:
        validate([Resource.of(r) for r in args.resources], args, report)

    return StackValidationPolicy(
        name=name,
        description=_describe(name, severity, breaks, fix),
        validate=run,
        enforcement_level=enforcement_level,
    )


# --- helpers shared by several policies -----------------------------------------------------------


def _init_config(resource: Resource) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """The kubeadm documents of the init Command by kind, or why there are none (None, None: unknown)."""
    stdin = resource.get("stdin")
    if stdin is UNKNOWN:
        return None, None
    if not isinstance(stdin, str) or not stdin.strip():
        return None, (
            "carries no kubeadm configuration on stdin; kindling passes the whole configuration there "
            "so that it can be checked before anything runs"
        )
    try:
        return shapes.by_kind(shapes.kubeadm_documents(stdin)), None
    except shapes.ConfigError as exc:
        return None, f"has a kubeadm configuration that kubeadm cannot read: {exc}"


def _find_init(resources: Iterable[Resource]) -> Resource | None:
    for resource in resources:
        if resource.type == shapes.COMMAND and shapes.runs_script(resource.props, contract.INIT_SCRIPT) is True:
            return resource
    return None


def _kubernetes_version(documents: dict[str, dict[str, Any]]) -> semver.Version | None:
    text = documents.get("ClusterConfiguration", {}).get("kubernetesVersion")
    if not isinstance(text, str):
        return None
    try:
        return parse_release(text)
    except ValueError:
        return None


def _is_pinned_version(value: Any) -> bool:
    if not isinstance(value, str) or value in ("", "latest"):
        return False
    try:
        semver.Version.parse(value.removeprefix("v"))
    except ValueError:
        return False
    return True


# --- node containers ----------------------------------------------------------------------------


def _check_lib_modules(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER:
        return
    binds = shapes.host_binds(resource.props)
    if binds is UNKNOWN:
        return
    for bind in binds:
        if bind.source is UNKNOWN or bind.read_only is UNKNOWN:
            continue
        if isinstance(bind.source, str) and shapes.exposes_host_modules(bind.source) and bind.read_only is not True:
            report(
                f"{bind.where} binds the host's {bind.source} writable into container {resource.name!r}: anything "
                "running there (any pod, on a node) can replace the host's kernel modules. Set readOnly: true."
            )
    if shapes.is_node(resource.props) is not True:
        return
    state = shapes.labels(resource.props).get(contract.LABEL_LIB_MODULES)
    if state is UNKNOWN or state == contract.LIB_MODULES_ABSENT:
        return
    mounted = any(
        isinstance(b.source, str)
        and shapes.normalized_path(b.source) in shapes.MODULE_DIRECTORIES
        and isinstance(b.target, str)
        and shapes.normalized_path(b.target) == "/lib/modules"
        for b in binds
    )
    if not mounted and not any(b.source is UNKNOWN or b.target is UNKNOWN for b in binds):
        report(
            f"node container {resource.name!r} does not bind the host's /lib/modules at /lib/modules "
            f"(label {contract.LABEL_LIB_MODULES}={state!r}); kube-proxy and the CNI cannot load kernel modules. "
            f"Bind it read-only, or label the node {contract.LABEL_LIB_MODULES}={contract.LIB_MODULES_ABSENT} "
            "when the Docker host has no /lib/modules."
        )


def _beyond_loopback(resource: Resource, args: Any, include: Callable[[Any], bool]):
    """(index, internal port, ip or None) of each known port ``include``d and published beyond
    loopback and the allow-list; None: no ip, so Docker binds every host interface."""
    ports = resource.get("ports") or []
    if ports is UNKNOWN:
        return
    allowed = _allowed(args)
    for index, port in enumerate(ports):
        if port is UNKNOWN or not include(port.get("internal")):
            continue
        ip = port.get("ip")
        if ip is UNKNOWN:
            continue
        if not ip:
            yield index, port.get("internal"), None
        elif not shapes.is_loopback(ip) and not any(shapes.same_address(ip, a) for a in allowed):
            yield index, port.get("internal"), ip


def _check_api_server_published(resource: Resource, args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER or shapes.is_node(resource.props) is not True:
        return
    for index, _, ip in _beyond_loopback(resource, args, lambda internal: internal == contract.API_SERVER_PORT):
        if ip is None:
            report(
                f"ports[{index}] publishes the API server of {resource.name!r} without an ip, so Docker binds it on "
                "every host interface. Give ip: 127.0.0.1 (kindling:apiServerAddress)."
            )
        else:
            allowed = _allowed(args)
            report(
                f"ports[{index}] publishes the API server of {resource.name!r} on {ip}, which is not loopback and "
                f"not in this policy's {ALLOWED_ADDRESSES} ({', '.join(allowed) or 'empty'}). Publish it on "
                f"127.0.0.1, or add {ip} to {ALLOWED_ADDRESSES} in the policy pack config if it is meant to be "
                "reachable."
            )


def _check_published_ports(resource: Resource, args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER:
        return
    node = shapes.is_node(resource.props)
    if node is True and resource.get("networkMode") == "host":
        report(
            f"node container {resource.name!r} uses the host's network: the API server, etcd and the kubelet "
            "would listen on every host interface. Use the cluster's bridge network (networksAdvanced)."
        )

    def other_than_a_nodes_api_server(internal: Any) -> bool:
        # A node's API server port has its own policy and allow-list (unknowns: checked at up).
        return node is False or (internal is not UNKNOWN and internal != contract.API_SERVER_PORT)

    for index, internal, ip in _beyond_loopback(resource, args, other_than_a_nodes_api_server):
        what = f"port {internal:g}" if isinstance(internal, (int, float)) else "a port"
        if ip is None:
            report(
                f"ports[{index}] publishes {what} of {resource.name!r} without an ip, so Docker binds it on every "
                "host interface. Give ip: 127.0.0.1."
            )
        else:
            report(
                f"ports[{index}] publishes {what} of {resource.name!r} on {ip}, beyond loopback. Publish it on "
                f"127.0.0.1, or add {ip} to {ALLOWED_ADDRESSES} in the policy pack config."
            )


_UNCONFINED_SECURITY_OPTS = (
    "seccomp=unconfined",
    "seccomp:unconfined",
    "apparmor=unconfined",
    "apparmor:unconfined",
    "label=disable",
    "label:disable",
    "systempaths=unconfined",
)
_HOST_NAMESPACES = ("networkMode", "pidMode", "ipcMode", "usernsMode")
_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run")


def _escalations(props: dict[str, Any]) -> list[str]:
    found = []
    if props.get("privileged") is True:
        found.append("privileged: true")
    capabilities = props.get("capabilities")
    if isinstance(capabilities, dict) and isinstance(capabilities.get("adds"), list) and capabilities["adds"]:
        names = [c for c in capabilities["adds"] if isinstance(c, str)]
        found.append(f"capabilities.adds {names}")
    for key in ("deviceCgroupRules", "devices"):
        if isinstance(props.get(key), list) and props[key]:
            found.append(key)
    options = props.get("securityOpts")
    for option in options if isinstance(options, list) else []:
        if isinstance(option, str) and option.replace(" ", "") in _UNCONFINED_SECURITY_OPTS:
            found.append(f"securityOpts {option}")
    for key in _HOST_NAMESPACES:
        if props.get(key) == "host":
            found.append(f"{key}: host")
    binds = shapes.host_binds(props)
    for bind in binds if binds is not UNKNOWN else []:
        if isinstance(bind.source, str) and shapes.normalized_path(bind.source) in _DOCKER_SOCKETS:
            found.append(f"the Docker socket ({bind.source})")
    return found


def _check_privileges(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER or shapes.is_node(resource.props) is not False:
        return
    escalations = _escalations(resource.props)
    if escalations:
        report(
            f"container {resource.name!r} is not a kindling node (labels {contract.LABEL_CLUSTER} and "
            f"{contract.LABEL_ROLE}=control-plane|worker) but gets {', '.join(escalations)}: that is root on the "
            "Docker host. Drop these settings; only node containers need them."
        )


def _check_restart(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.CONTAINER or shapes.is_node(resource.props) is not True:
        return
    restart = resource.get("restart")
    if restart is UNKNOWN or restart in ("on-failure", "always", "unless-stopped"):
        return
    report(
        f"node container {resource.name!r} has restart {restart or 'no (the default)'!r}: after a crash or a "
        "Docker restart the node stays down. Use restart: on-failure."
    )


# --- the kubeadm configuration ----------------------------------------------------------------------

_KUBE_PROXY_SKIPPED = ("addon", "addon/kube-proxy", "addon/all")


def _check_conntrack(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.COMMAND or shapes.runs_script(resource.props, contract.INIT_SCRIPT) is not True:
        return
    documents, problem = _init_config(resource)
    if problem:
        report(f"the kubeadm init Command {resource.name!r} {problem}.")
    if documents is None:
        return
    skipped = documents.get("InitConfiguration", {}).get("skipPhases") or []
    if isinstance(skipped, list) and any(phase in _KUBE_PROXY_SKIPPED for phase in skipped):
        return  # no kube-proxy, nothing to configure
    proxy = documents.get("KubeProxyConfiguration")
    if proxy is None:
        report(
            f"the kubeadm configuration of {resource.name!r} has no KubeProxyConfiguration, so kube-proxy keeps "
            "its default conntrack.maxPerCore and dies in a container on 'nf_conntrack_max: permission denied'. "
            "Add a KubeProxyConfiguration with conntrack: {maxPerCore: 0}."
        )
        return
    conntrack = proxy.get("conntrack")
    value = conntrack.get("maxPerCore") if isinstance(conntrack, dict) else None
    if isinstance(value, bool) or value != 0:
        shown = "unset" if value is None else repr(value)
        report(
            f"the KubeProxyConfiguration of {resource.name!r} has conntrack.maxPerCore {shown}; kube-proxy then "
            "writes nf_conntrack_max, which a container may not ('permission denied'), and crash-loops. "
            "Set conntrack.maxPerCore: 0."
        )


def _check_kubeadm_api(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.COMMAND or shapes.runs_script(resource.props, contract.INIT_SCRIPT) is not True:
        return
    documents, _ = _init_config(resource)
    if documents is None:
        return  # unknown, or reported by kube-proxy-conntrack-unmanaged
    cluster = documents.get("ClusterConfiguration")
    if cluster is None:
        report(
            f"the kubeadm configuration of {resource.name!r} has no ClusterConfiguration, so kubeadm picks a "
            "Kubernetes version on its own. Add one with kubernetesVersion: vMAJOR.MINOR.PATCH."
        )
        return
    text = cluster.get("kubernetesVersion")
    version = _kubernetes_version(documents)
    if version is None:
        report(
            f"the ClusterConfiguration of {resource.name!r} has kubernetesVersion {text!r}, not one exact release; "
            "kubeadm would resolve it online. Give vMAJOR.MINOR.PATCH."
        )
        return
    try:
        expected = catalog.traits_for(version).kubeadm_api
    except LookupError as exc:
        report(f"the ClusterConfiguration of {resource.name!r}: {exc}; kindling knows no kubeadm API for it.")
        return
    for kind, document in documents.items():
        if shapes.is_kubeadm_document(document) and document.get("apiVersion") != expected:
            report(
                f"the {kind} of {resource.name!r} uses {document.get('apiVersion')} but kubeadm of Kubernetes "
                f"{version} reads {expected} (v1beta2 up to 1.22, v1beta3 for 1.23-1.30, v1beta4 from 1.31); "
                f"kubeadm init refuses or misreads it. Render it with apiVersion {expected}."
            )


_BOOTSTRAP_TOKEN = re.compile(r"(?<![a-z0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![a-z0-9])")
_PLACEHOLDER = re.compile(r"^@[A-Z0-9_]+@$")


def _check_kubeadm_credentials(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.COMMAND:
        return
    texts = {key: resource.get(key) for key in ("create", "update", "delete", "stdin")}
    environment = resource.get("environment")
    if isinstance(environment, dict):
        texts.update({f"environment.{key}": value for key, value in environment.items()})
    for where, text in texts.items():
        if isinstance(text, str) and _BOOTSTRAP_TOKEN.search(text):
            report(
                f"{where} of Command {resource.name!r} contains a kubeadm bootstrap token; Command inputs are "
                "stored in the Pulumi state and shown by preview. Mint the token on the node at run time "
                "(kubeadm token create) and pass a placeholder."
            )
    stdin = resource.get("stdin")
    if not isinstance(stdin, str) or not stdin.strip():
        return
    try:
        documents = shapes.kubeadm_documents(stdin)
    except shapes.ConfigError:
        return
    for document in documents:
        kind = document["kind"]
        secrets = []
        for token in document.get("bootstrapTokens") or []:
            if isinstance(token, dict) and token.get("token"):
                secrets.append("bootstrapTokens[].token")
        if document.get("certificateKey"):
            secrets.append("certificateKey")
        control_plane = document.get("controlPlane")
        if isinstance(control_plane, dict) and control_plane.get("certificateKey"):
            secrets.append("controlPlane.certificateKey")
        discovery = document.get("discovery")
        if isinstance(discovery, dict):
            bootstrap = discovery.get("bootstrapToken")
            token = bootstrap.get("token") if isinstance(bootstrap, dict) else None
            if token and not _PLACEHOLDER.match(str(token)):
                secrets.append("discovery.bootstrapToken.token")
            tls = discovery.get("tlsBootstrapToken")
            if tls and not _PLACEHOLDER.match(str(tls)):
                secrets.append("discovery.tlsBootstrapToken")
        if secrets:
            report(
                f"the {kind} in the stdin of {resource.name!r} sets {', '.join(sorted(set(secrets)))}: a cluster "
                "credential in plain text in the Pulumi state. Leave it out (kubeadm generates one) or pass an "
                "@PLACEHOLDER@ that the node-side script fills in."
            )


# --- the admin kubeconfig -------------------------------------------------------------------------


def _is_kubeconfig_command(resource: Resource) -> bool:
    return resource.type == shapes.COMMAND and shapes.runs_script(resource.props, contract.KUBECONFIG_SCRIPT) is True


def _check_kubeconfig_secret(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if _is_kubeconfig_command(resource) and "stdout" not in resource.additional_secret_outputs:
        report(
            f"Command {resource.name!r} prints the cluster-admin kubeconfig, but its stdout is not in "
            "additionalSecretOutputs: the credential would sit in plain text in the Pulumi state. Add "
            "additional_secret_outputs=['stdout'] to its resource options."
        )


def _check_kubeconfig_logging(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if not _is_kubeconfig_command(resource):
        return
    logging = resource.get("logging")
    if logging is UNKNOWN or logging in ("stderr", "none"):
        return
    report(
        f"Command {resource.name!r} prints the cluster-admin kubeconfig with logging "
        f"{logging or 'stdoutAndStderr (the default)'!r}: the credential would appear in the update's log. "
        "Set logging to stderr (or none)."
    )


def _check_provider_kubeconfig(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.KUBERNETES_PROVIDER:
        return
    kubeconfig = resource.get("kubeconfig")
    if kubeconfig is UNKNOWN or (isinstance(kubeconfig, str) and kubeconfig.strip()):
        return
    if resource.get("renderYamlToDirectory"):
        return  # writes manifests to a directory and talks to no cluster
    report(
        f"Kubernetes provider {resource.name!r} has no kubeconfig, so it uses ~/.kube/config or $KUBECONFIG and "
        "would install this stack's charts into whatever cluster that names. Give it the cluster's kubeconfig "
        "(the kubeadm control plane's output)."
    )


# --- pinned versions -----------------------------------------------------------------------------


def _check_chart_pinned(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.HELM_RELEASE:
        return
    version = resource.get("version")
    if version is UNKNOWN or _is_pinned_version(version):
        return
    shown = "no version" if version in (None, "") else f"version {version!r}"
    report(
        f"Helm release {resource.name!r} (chart {resource.get('chart')!r}) has {shown}, so Helm installs whatever "
        "the repository offers that day, which may not run on this Kubernetes release. Pin one exact chart "
        "version such as 4.0.1."
    )


def _check_image_pinned(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type == shapes.REMOTE_IMAGE:
        reference, what = resource.get("name"), "node image"
    elif resource.type == shapes.CONTAINER:
        reference, what = resource.get("image"), "image of container"
        if isinstance(reference, str) and reference.startswith("sha256:"):
            return  # an image id names exactly one image
    else:
        return
    if reference is UNKNOWN or not isinstance(reference, str):
        return
    problem = shapes.image_reference_problem(reference)
    if problem:
        report(
            f"{what} {resource.name!r}: {problem}, so the node may change under the cluster on the next pull or "
            "build. Tag it with a version (kindling tags built images v<release>-<digest>) or pin a sha256 digest."
        )


# --- stack-wide checks --------------------------------------------------------------------------------


def _node_image(resources: list[Resource]) -> tuple[Resource, dict[str, Any]] | None:
    for resource in resources:
        if resource.type != shapes.REMOTE_IMAGE:
            continue
        build = resource.get("build")
        if isinstance(build, dict) and isinstance(build.get("buildArgs"), dict):
            return resource, build["buildArgs"]
    return None


def _effective_cgroup_driver(documents: dict[str, dict[str, Any]], version: semver.Version) -> str:
    driver = documents.get("KubeletConfiguration", {}).get("cgroupDriver")
    if isinstance(driver, str):
        return driver
    return "systemd" if minor_of(version) >= (1, 22) else "cgroupfs"  # kubeadm's default


def _check_image_matches_config(resources: list[Resource], args: StackValidationArgs, report: ReportViolation) -> None:
    init, image = _find_init(resources), _node_image(resources)
    if init is None or image is None:
        # Silent: needs the kubeadm init Command and a node image built from build arguments.
        return
    documents, _ = _init_config(init)
    version = _kubernetes_version(documents) if documents else None
    if documents is None or version is None:
        return  # unknown, or reported by the init Command's own policies
    image_resource, build_args = image
    release = f"v{version}"

    def mismatch(what: str, got: Any, fix: str) -> None:
        report(
            f"the node image {image_resource.name!r} has {what} {got!r}, but the kubeadm configuration of "
            f"{init.name!r} deploys Kubernetes {release}; {fix}",
            image_resource.urn,
        )

    built = build_args.get("KUBERNETES_VERSION")
    if isinstance(built, str) and built.removeprefix("v") != str(version):
        mismatch("KUBERNETES_VERSION", built, "kubeadm would deploy a release its own binaries do not match.")
    manifest = build_args.get("KINDLING_ARTIFACTS")
    if isinstance(manifest, str):
        versions = shapes.artifact_versions(manifest)
        for name in shapes.KUBERNETES_ARTIFACTS:
            if name in versions and versions[name] != str(version):
                mismatch(f"{name} v{versions[name]}", versions[name], f"install {name} {release} in the image.")
    driver = build_args.get("CGROUP_DRIVER")
    expected_driver = _effective_cgroup_driver(documents, version)
    if isinstance(driver, str) and driver != expected_driver:
        mismatch(
            "containerd's CGROUP_DRIVER",
            driver,
            f"its kubelet uses the {expected_driver} driver and pods fail when the two disagree. "
            "Build the image with the kubelet's cgroup driver.",
        )
    pause = build_args.get("PAUSE_IMAGE")
    repository = documents.get("ClusterConfiguration", {}).get("imageRepository")
    try:
        pause_version = catalog.traits_for(version).pause_version
    except LookupError:
        pause_version = None
    if isinstance(pause, str) and isinstance(repository, str) and pause_version:
        expected = f"{repository}/pause:{pause_version}"
        if pause != expected:
            mismatch(
                "PAUSE_IMAGE",
                pause,
                f"containerd would need {pause} while kubeadm pre-pulls {expected}, so pods cannot start "
                "without registry access. Configure containerd with kubeadm's pause image.",
            )


_COMPONENT_KEYS = {"cni_plugins": "cniPlugins"}


def _catalog_row(version: semver.Version) -> tuple[str, catalog.Components] | None:
    """The catalog row of the release, else the row of the same minor (rows are one per minor)."""
    exact = catalog.catalog_release(version)
    if exact is not None:
        return str(version), exact
    for known in catalog.known_releases():
        if minor_of(parse_release(known)) == minor_of(version):
            return known, catalog.RELEASES[known]
    return None


def _cni_component(resource: Resource) -> str | None:
    chart = resource.get("chart")
    if not isinstance(chart, str):
        return None
    if "tigera-operator" in chart:
        return "calico"
    if "flannel" in chart:
        return "flannel"
    return None


def _check_version_skew(resources: list[Resource], args: StackValidationArgs, report: ReportViolation) -> None:
    init = _find_init(resources)
    documents, _ = _init_config(init) if init else (None, None)
    version = _kubernetes_version(documents) if documents else None
    if version is None:
        # Silent: no kubeadm init Command with a known, exact kubernetesVersion.
        return
    row = _catalog_row(version)
    if row is None:
        # Silent outside the catalog's minors: a release the catalog has no row of the same minor for
        # has no known-good components to compare with; its components are the stack's own choice.
        return
    row_release, known_good = row
    found: list[tuple[str, str, Resource]] = []
    image = _node_image(resources)
    if image is not None and isinstance(image[1].get("KINDLING_ARTIFACTS"), str):
        versions = shapes.artifact_versions(image[1]["KINDLING_ARTIFACTS"])
        for name, field in shapes.ARTIFACT_COMPONENTS.items():
            if name in versions:
                found.append((field, versions[name], image[0]))
    for resource in resources:
        component = _cni_component(resource) if resource.type == shapes.HELM_RELEASE else None
        if component and isinstance(resource.get("version"), str):
            found.append((component, resource.get("version"), resource))
    for field, actual, resource in found:
        good = getattr(known_good, field)
        try:
            same_line = minor_of(parse_release(actual)) == minor_of(parse_release(good))
        except ValueError:
            same_line = False
        if not same_line:
            key = _COMPONENT_KEYS.get(field, field)
            report(
                f"{key} {actual} ({resource.name!r}) is outside the supported skew of Kubernetes {version}: the "
                f"catalog's known-good {key} for Kubernetes {row_release} is {good}, and any patch of its minor line "
                f"is accepted. Use a {key} of that line, or accept the untested pairing (kindling:components.{key}).",
                resource.urn,
            )


def _check_networks(resources: list[Resource], args: StackValidationArgs, report: ReportViolation) -> None:
    init = _find_init(resources)
    documents, _ = _init_config(init) if init else (None, None)
    if documents is None:
        # Silent: no kubeadm init Command with a known configuration.
        return
    networking = documents.get("ClusterConfiguration", {}).get("networking") or {}
    named: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
    for key in ("podSubnet", "serviceSubnet"):
        if isinstance(networking.get(key), str):
            try:
                named[f"ClusterConfiguration networking.{key}"] = shapes.networks(networking[key])
            except ValueError:
                report(f"networking.{key} {networking[key]!r} of {init.name!r} is not a CIDR list.", init.urn)
    for resource in resources:
        if resource.type != shapes.NETWORK or not isinstance(resource.get("ipamConfigs"), list):
            continue
        for index, ipam in enumerate(resource.get("ipamConfigs")):
            subnet = ipam.get("subnet") if isinstance(ipam, dict) else None
            if isinstance(subnet, str):
                try:
                    named[f"Docker network {resource.name!r} ipamConfigs[{index}].subnet"] = shapes.networks(subnet)
                except ValueError:
                    continue
    keys = list(named)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if any(x.overlaps(y) for x in named[a] for y in named[b] if x.version == y.version):
                report(
                    f"{a} ({', '.join(map(str, named[a]))}) overlaps {b} ({', '.join(map(str, named[b]))}): "
                    "packets for one land in the other and nodes, pods or services become unreachable. "
                    "Make pod, service and node subnets disjoint (kindling:podSubnet, serviceSubnet, nodeSubnet).",
                    init.urn,
                )
    pods = named.get("ClusterConfiguration networking.podSubnet")
    if not pods:
        return
    for resource in resources:
        component = _cni_component(resource) if resource.type == shapes.HELM_RELEASE else None
        values = resource.get("values")
        if not component or not isinstance(values, dict):
            continue
        if component == "calico":
            installation = values.get("installation")
            network = installation.get("calicoNetwork") if isinstance(installation, dict) else None
            pools = network.get("ipPools") if isinstance(network, dict) else None
            cidrs = [p.get("cidr") for p in pools if isinstance(p, dict)] if isinstance(pools, list) else []
        else:
            cidrs = [values.get("podCidr")]
        for cidr in cidrs:
            if not isinstance(cidr, str):
                continue
            try:
                pool = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                pool = None
            inside = pool is not None and any(
                pool.version == p.version and pool.subnet_of(p)
                for p in pods  # type: ignore[arg-type]
            )
            if not inside or (component == "flannel" and pool not in pods):
                report(
                    f"the {component} release {resource.name!r} gives pods {cidr}, but the cluster's podSubnet is "
                    f"{', '.join(map(str, pods))}: pod addresses and kube-proxy's cluster CIDR disagree and "
                    "cross-node pod traffic breaks. Give the CNI the cluster's podSubnet.",
                    resource.urn,
                )


# --- the pack --------------------------------------------------------------------------------------

POLICIES = [
    _resource_policy(
        "node-lib-modules-read-only",
        enforcement_level=MANDATORY,
        severity=Severity.CRITICAL,
        breaks="Node containers bind the host's /lib/modules read-only, and no container binds it writable: "
        "kube-proxy and CNIs load kernel modules from it, and a writable bind lets a pod replace the host's "
        "modules. A node may lack the bind only when labelled kindling.host-lib-modules=absent-on-host.",
        fix="bind /lib/modules at /lib/modules with readOnly: true (components/node_container.py).",
        validate=_check_lib_modules,
    ),
    _resource_policy(
        "kube-proxy-conntrack-unmanaged",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="The kubeadm configuration on the init Command's stdin has a KubeProxyConfiguration with "
        "conntrack.maxPerCore: 0; otherwise kube-proxy tries to write nf_conntrack_max, which a container may "
        "not, and dies on 'permission denied'.",
        fix="render KubeProxyConfiguration with conntrack: {maxPerCore: 0} (kindling/kubeadm_config.py).",
        validate=_check_conntrack,
    ),
    _resource_policy(
        "api-server-loopback-only",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="The API server port (6443) of a node container is published on loopback only, unless the "
        "address is in this policy's allowedAddresses; otherwise the cluster's API is reachable from the network.",
        fix="set kindling:apiServerAddress to 127.0.0.1, or list the address in allowedAddresses "
        "(--policy-pack-config) when exposing it is intended.",
        validate=_check_api_server_published,
        config_schema=_allowed_addresses_schema("the API server"),
    ),
    _resource_policy(
        "published-ports-loopback-only",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="No container of the stack publishes any other port (SSH, etcd, the kubelet...) beyond loopback, "
        "and no node container uses the host's network: node containers are privileged, so a port on the "
        "network is a door into a root-equivalent machine.",
        fix="publish ports with ip: 127.0.0.1 (or list an address in allowedAddresses); keep nodes on the "
        "cluster's bridge network.",
        validate=_check_published_ports,
        config_schema=_allowed_addresses_schema("container ports"),
    ),
    _resource_policy(
        "admin-kubeconfig-secret",
        enforcement_level=MANDATORY,
        severity=Severity.CRITICAL,
        breaks="The Command that prints the admin kubeconfig (admin-kubeconfig.sh) lists stdout in "
        "additionalSecretOutputs; otherwise the cluster-admin credential is stored in plain text in the state.",
        fix="create the Command with ResourceOptions(additional_secret_outputs=['stdout']).",
        validate=_check_kubeconfig_secret,
    ),
    _resource_policy(
        "admin-kubeconfig-not-logged",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="The Command that prints the admin kubeconfig does not log its stdout (logging stderr or none); "
        "the default logging copies the cluster-admin credential into the update's log, secret or not.",
        fix="create the Command with logging=command.local.Logging.STDERR.",
        validate=_check_kubeconfig_logging,
    ),
    _resource_policy(
        "cluster-provider-explicit-kubeconfig",
        enforcement_level=MANDATORY,
        severity=Severity.CRITICAL,
        breaks="Every Kubernetes provider of the stack is given a kubeconfig explicitly; a provider without one "
        "(the default provider among them) falls back to ~/.kube/config or $KUBECONFIG and deploys the stack's "
        "charts into whatever cluster that names, a production one perhaps.",
        fix="create releases with the ClusterAddons provider, built from the control plane's kubeconfig output.",
        validate=_check_provider_kubeconfig,
    ),
    _resource_policy(
        "privileges-only-on-nodes",
        enforcement_level=MANDATORY,
        severity=Severity.CRITICAL,
        breaks="Only containers labelled as kindling nodes (kindling.cluster and kindling.role=control-plane|worker) "
        "get privileged, added capabilities, device access, unconfined seccomp/AppArmor, host namespaces or the "
        "Docker socket; on any other container these are root on the Docker host.",
        fix="drop these settings from the container, or make it a node with the NodeContainer component.",
        validate=_check_privileges,
    ),
    _resource_policy(
        "kubeadm-api-matches-release",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="The init Command's ClusterConfiguration names one exact kubernetesVersion and every kubeadm "
        "document uses that release's API (v1beta2 up to 1.22, v1beta3 for 1.23-1.30, v1beta4 from 1.31); "
        "kubeadm init refuses or misreads any other.",
        fix="render the configuration with the catalog's kubeadm API for the release (catalog.KUBEADM_API_RULES).",
        validate=_check_kubeadm_api,
    ),
    _resource_policy(
        "kubeadm-config-without-credentials",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="No Command carries a kubeadm bootstrap token, certificate key or TLS bootstrap token in its "
        "inputs; Command inputs are stored in plain text in the state and shown by preview.",
        fix="mint tokens on the node when the Command runs (kubeadm token create) and pass @PLACEHOLDER@s.",
        validate=_check_kubeadm_credentials,
    ),
    _resource_policy(
        "helm-chart-pinned",
        enforcement_level=MANDATORY,
        severity=Severity.MEDIUM,
        breaks="Every Helm release pins one exact chart version; without it Helm installs whatever is newest, "
        "which may not run on the stack's exact Kubernetes release.",
        fix="give the chart an exact version (kindling:charts[].version, or the catalog's CNI chart version).",
        validate=_check_chart_pinned,
    ),
    _resource_policy(
        "node-image-pinned",
        enforcement_level=MANDATORY,
        severity=Severity.MEDIUM,
        breaks="Node images (and container images given by name) carry a version tag or a sha256 digest, never "
        "latest or no tag; otherwise the next pull or build silently changes what the nodes run.",
        fix="tag the image with a version or pin its digest (kindling:nodeImage accepts name:tag or name@sha256:...).",
        validate=_check_image_pinned,
    ),
    _resource_policy(
        "node-restarts-on-failure",
        enforcement_level=ADVISORY,
        severity=Severity.LOW,
        breaks="Node containers restart on failure; with Docker's default (no) a crashed node or a restarted "
        "Docker engine leaves the cluster down until the next pulumi up.",
        fix="create node containers with restart='on-failure' (or always, unless-stopped).",
        validate=_check_restart,
    ),
    _stack_policy(
        "node-image-matches-kubeadm-config",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="The node image is built for the release the kubeadm configuration deploys: its KUBERNETES_VERSION "
        "and kubeadm/kubelet/kubectl artifacts are that release, its containerd cgroup driver is the kubelet's, "
        "and its pause image is the one kubeadm pre-pulls; a mismatch fails kubeadm init or leaves pods unable "
        "to start.",
        fix="build the node image and the kubeadm configuration from the same spec (cluster.py).",
        validate=_check_image_matches_config,
    ),
    _stack_policy(
        "component-version-skew",
        enforcement_level=ADVISORY,
        severity=Severity.MEDIUM,
        breaks="containerd, runc, CNI plugins, crictl and helm in the node image, and the Calico or flannel chart, "
        "are on the minor line (MAJOR.MINOR; any patch) of the catalog's known-good versions for the Kubernetes "
        "release (the row of the same Kubernetes minor when the exact release has none; silent outside the "
        "catalog). Other lines are untested with the release: a kubelet may not speak the runtime's CRI, a "
        "chart may not install.",
        fix="drop or correct the kindling:components override, or accept the untested pairing.",
        validate=_check_version_skew,
    ),
    _stack_policy(
        "cluster-networks-consistent",
        enforcement_level=MANDATORY,
        severity=Severity.HIGH,
        breaks="The ClusterConfiguration's pod and service subnets and the Docker node network do not overlap, "
        "and the CNI chart gives pods the cluster's podSubnet; otherwise nodes, pods or services are unreachable.",
        fix="choose disjoint kindling:podSubnet, serviceSubnet and nodeSubnet; pass podSubnet to the CNI chart.",
        validate=_check_networks,
    ),
]
