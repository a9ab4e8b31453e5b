"""Run the real kindling program (``__main__.py``) under Pulumi's mocks and record what it registers.

Two things the stock mocks do not do, and the engine does, are emulated here:
outputs named in ``additionalSecretOutputs`` come back secret, and every
registration keeps its options (parent, dependencies, provider) so tests can
check the resource graph, not only property values.
"""

from __future__ import annotations

import hashlib
import runpy
from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from kindling import host as kindling_host
from kindling import machines as kindling_machines
from tests.support import ROOT

FAKE_ADMIN_CONF = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "kubernetes", "cluster": {"certificate-authority-data": "Q0E=", "server": "https://x:6443"}}],
    "users": [{"name": "kubernetes-admin", "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}}],
    "contexts": [{"name": "admin", "context": {"cluster": "kubernetes", "user": "kubernetes-admin"}}],
    "current-context": "admin",
}
FREE_PORT = 32771
# What node-versions.sh prints on a node of the 1.19.1 catalog image (each tool's own format).
NODE_VERSIONS = """kubernetes Kubernetes v1.19.1
kubeadm v1.19.1
containerd containerd github.com/containerd/containerd v1.4.0 09814d48d50816305a8e6c1a4ae3e2bcc4ba725a
runc runc version 1.0.0-rc92
crictl crictl version v1.18.0
helm v3.4.0+g7090a89
"""
# A cgroup v1 host with /lib/modules (tests ask for other hosts explicitly).
DEFAULT_HOST = kindling_host.DockerHost(cgroup_version=1, architecture="x86_64", has_lib_modules=True)
# A host ready for systemd-nspawn machines (kindling:nodeRuntime nspawn): every setting as kindling needs it.
READY_MACHINE_HOST = kindling_machines.MachineHost(
    nspawn="/usr/bin/systemd-nspawn",
    sysctls=tuple((name, least) for name, (least, _) in kindling_machines.REQUIRED_SYSCTLS.items()),
    conntrack_hashsize=kindling_machines.CONNTRACK_HASHSIZE_LEAST,
)


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    id: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    provider: str
    additional_secret_outputs: list[str]
    delete_before_replace: bool
    deleted_with: str
    retain_on_delete: bool
    custom: bool
    secret_inputs: set[str] = field(default_factory=set)
    outputs: dict[str, Any] = field(default_factory=dict)
    # The URNs the resource was registered under before (its aliases): the engine updates those in place.
    alias_urns: list[str] = field(default_factory=list)


def _is_secret(value) -> bool:
    fields = value.struct_value.fields if value.HasField("struct_value") else {}
    signature = fields.get(rpc._special_sig_key)
    return signature is not None and signature.string_value == rpc._special_secret_sig


def _alias_urn(urn: str, alias) -> str:
    """The URN an alias names: given whole, or this URN under another name (same type and parent)."""
    if alias.urn:
        return alias.urn
    if alias.spec.type or alias.spec.parentUrn or alias.spec.noParent or alias.spec.stack or alias.spec.project:
        raise NotImplementedError(f"alias {alias} changes more than the name")
    return urn.rsplit("::", 1)[0] + "::" + alias.spec.name


class KindlingMocks(pulumi.runtime.Mocks):
    """What the providers would answer, for the properties the program reads back."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = "sha256:" + hashlib.sha256(args.inputs["name"].encode()).hexdigest()
        elif args.typ == "command:local:Command":
            create = args.inputs.get("create", "")
            if "admin-kubeconfig.sh" in create:
                state["stdout"] = yaml.safe_dump(FAKE_ADMIN_CONF)
            elif "wait-for-systemd.sh" in create:
                state["stdout"] = "running"
            elif "node-versions.sh" in create:
                state["stdout"] = NODE_VERSIONS
            elif "free-port.sh" in create:
                state["stdout"] = f"{FREE_PORT}\n"
            else:
                state["stdout"] = ""
            state["stderr"] = ""
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        outputs = rpc.deserialize_properties(response.object)
        secret_names = list(request.additionalSecretOutputs)
        if secret_names:
            # The engine returns these outputs as secrets; so do we.
            marked = {k: (pulumi.Output.secret(v) if k in secret_names else v) for k, v in outputs.items()}
            response.object.CopyFrom(_sync_await(rpc.serialize_properties(marked, {})))
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                id=response.id,
                inputs=rpc.deserialize_properties_unwrap_secrets(request.object, keep_unknowns=True)[0],
                parent=request.parent,
                dependencies=list(request.dependencies),
                provider=request.provider,
                additional_secret_outputs=secret_names,
                delete_before_replace=request.deleteBeforeReplace,
                deleted_with=request.deletedWith,
                retain_on_delete=request.retainOnDelete,
                custom=request.custom,
                secret_inputs={key for key, value in request.object.fields.items() if _is_secret(value)},
                outputs=outputs,
                alias_urns=[_alias_urn(response.urn, alias) for alias in request.aliases],
            )
        )
        return response


@dataclass
class Deployment:
    registrations: list[Registration]
    outputs: dict[str, pulumi.Output]
    warnings: list[str]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        (found,) = [r for r in self.registrations if r.name == name]
        return found

    def by_urn(self, urn: str) -> Registration:
        (found,) = [r for r in self.registrations if r.urn == urn]
        return found

    def output(self, name: str) -> tuple[Any, bool]:
        """An exported value and whether it is secret."""
        value = pulumi.Output.from_input(self.outputs[name])
        return _sync_await(value.future()), _sync_await(value.is_secret())


class _WarningLog:
    def __init__(self):
        self.warnings: list[str] = []

    def warning(self, message, *args, **kwargs):
        self.warnings.append(message)

    def debug(self, *args, **kwargs):
        pass

    info = error = debug


def local_image_id(reference: str) -> str:
    """The id a local image has on the stand-in engine, unless a test gives it another."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def run_program(
    stack: str,
    config: dict[str, str],
    docker_host: kindling_host.DockerHost | None = DEFAULT_HOST,
    preview: bool = False,
    mocks: pulumi.runtime.Mocks | None = None,
    registered: list[Registration] | None = None,
    image_ids: dict[str, str] | None = None,
    machine_host: kindling_machines.MachineHost = READY_MACHINE_HOST,
) -> Deployment:
    """Run __main__.py for ``stack`` with ``config`` (``kindling:`` keys without the namespace).

    ``docker_host`` None asks the real Docker engine (for the local images of kindling:images too);
    else the engine holds every local image, with ``image_ids`` or ``local_image_id``. ``mocks``
    replaces the answering mocks (the end-to-end executor performs the resources instead).
    ``registered`` is filled with what was registered, so a caller sees it even when the program fails.
    ``machine_host`` is what a stack of nodeRuntime nspawn finds on the host.
    """
    monitor = RecordingMonitor(mocks or KindlingMocks())
    if registered is not None:
        monitor.registrations = registered
    log = _WarningLog()
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        monitor.mocks, project="kindling", stack=stack, preview=preview, monitor=monitor, logger=log
    )
    pulumi.runtime.set_all_config({f"kindling:{key}": value for key, value in config.items()})
    original, original_ids = kindling_host.inspect_docker_host, kindling_host.local_image_ids
    original_machine_host = kindling_machines.inspect_machine_host
    kindling_machines.inspect_machine_host = lambda: machine_host
    if docker_host is not None:
        kindling_host.inspect_docker_host = lambda *node_and_cluster: docker_host
        known = image_ids or {}
        kindling_host.local_image_ids = lambda references: {r: known.get(r) or local_image_id(r) for r in references}
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")))
    finally:
        kindling_host.inspect_docker_host, kindling_host.local_image_ids = original, original_ids
        kindling_machines.inspect_machine_host = original_machine_host
    root = settings.get_root_resource()
    return Deployment(registrations=monitor.registrations, outputs=dict(root.outputs), warnings=log.warnings)
