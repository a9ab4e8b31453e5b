"""Cluster credentials: never in a Command's inputs, the state in plain text, or the update's log."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from pulumi_policy import ReportViolation

from kindling import contract
from policies import shapes
from policies.registry import MANDATORY, Severity, resource_policy
from policies.shapes import UNKNOWN, Resource

_BOOTSTRAP_TOKEN = re.compile(r"(?<![a-z0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![a-z0-9])")
_PLACEHOLDER = re.compile(r"^@[A-Z0-9_]+@$")
# A certificate key (32 random bytes in hex) given to kubeadm on a command line or in a configuration.
_CERTIFICATE_KEY = re.compile(
    r"""(?:--certificate-key[= ]+|certificateKey["']?\s*:\s*)["']?[0-9a-fA-F]{64}(?![0-9a-fA-F])"""
)
# A private key, as a PEM block or inside a kubeconfig.
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|client-key-data:\s*\S")


def _set(value: Any) -> bool:
    """A credential field given a value of its own, not a placeholder a script fills in."""
    return bool(value) and value is not UNKNOWN and not _PLACEHOLDER.match(str(value))


def _check_kubeadm_credentials(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if resource.type != shapes.COMMAND:
        return
    texts = {key: resource.get(key) for key in ("create", "update", "delete", "stdin")}
    environment = resource.get("environment")
    if isinstance(environment, dict):
        texts.update({f"environment.{key}": value for key, value in environment.items()})
    stdin = resource.get("stdin")
    documents = None
    if isinstance(stdin, str) and stdin.strip():
        # Not a kubeadm configuration: its text is scanned like any other input.
        with contextlib.suppress(shapes.ConfigError):
            documents = shapes.kubeadm_documents(stdin)
    for where, text in texts.items():
        if isinstance(text, str) and _BOOTSTRAP_TOKEN.search(text):
            report(
                f"{where} of Command {resource.name!r} contains a kubeadm bootstrap token; Command inputs are "
                "stored in the Pulumi state and shown by preview. Mint the token on the node at run time "
                "(kubeadm token create) and pass a placeholder."
            )
        # What a restore from a snapshot hands between nodes (a kubelet kubeconfig) must never be an input.
        if isinstance(text, str) and _PRIVATE_KEY.search(text):
            report(
                f"{where} of Command {resource.name!r} contains a private key (a PEM key or a kubeconfig's "
                "client-key-data); Command inputs are stored in the Pulumi state and shown by preview. Make keys on "
                "the nodes when the Command runs (kubeadm init phase certs/kubeconfig) and pass them between nodes "
                "through the script only."
            )
        # A kubeadm configuration on stdin is read field by field below, and reported once.
        if isinstance(text, str) and _CERTIFICATE_KEY.search(text) and not (where == "stdin" and documents):
            report(
                f"{where} of Command {resource.name!r} contains a kubeadm certificate key, which decrypts the "
                "cluster's CA and etcd keys uploaded for joining control planes; Command inputs are stored in the "
                "Pulumi state and shown by preview. Mint it on the first control plane when the join runs "
                "(kubeadm init phase upload-certs --upload-certs) and pass a placeholder."
            )
    for document in documents or []:
        kind = document["kind"]
        secrets = []
        for token in document.get("bootstrapTokens") or []:
            if isinstance(token, dict) and token.get("token"):
                secrets.append("bootstrapTokens[].token")
        if _set(document.get("certificateKey")):
            secrets.append("certificateKey")
        control_plane = document.get("controlPlane")
        if isinstance(control_plane, dict) and _set(control_plane.get("certificateKey")):
            secrets.append("controlPlane.certificateKey")
        discovery = document.get("discovery")
        if isinstance(discovery, dict):
            bootstrap = discovery.get("bootstrapToken")
            if isinstance(bootstrap, dict) and _set(bootstrap.get("token")):
                secrets.append("discovery.bootstrapToken.token")
            if _set(discovery.get("tlsBootstrapToken")):
                secrets.append("discovery.tlsBootstrapToken")
        if secrets:
            report(
                f"the {kind} in the stdin of {resource.name!r} sets {', '.join(sorted(set(secrets)))}: a cluster "
                "credential in plain text in the Pulumi state. Leave it out (kubeadm generates one) or pass an "
                "@PLACEHOLDER@ that the node-side script fills in."
            )


KUBEADM_CONFIG_WITHOUT_CREDENTIALS = resource_policy(
    "kubeadm-config-without-credentials",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="No Command carries a kubeadm bootstrap token, certificate key, TLS bootstrap token or private key in its "
    "inputs; Command inputs are stored in plain text in the state and shown by preview.",
    fix="mint tokens on the node when the Command runs (kubeadm token create) and pass @PLACEHOLDER@s.",
    validate=_check_kubeadm_credentials,
)


def _is_kubeconfig_command(resource: Resource) -> bool:
    return shapes.is_step(resource, contract.CONTROL_PLANE_TYPE, contract.KUBECONFIG_STEP)


def _check_kubeconfig_secret(resource: Resource, _args: Any, report: ReportViolation) -> None:
    if _is_kubeconfig_command(resource) and "stdout" not in resource.additional_secret_outputs:
        report(
            f"Command {resource.name!r} prints the cluster-admin kubeconfig, but its stdout is not in "
            "additionalSecretOutputs: the credential would sit in plain text in the Pulumi state. Add "
            "additional_secret_outputs=['stdout'] to its resource options."
        )


ADMIN_KUBECONFIG_SECRET = resource_policy(
    "admin-kubeconfig-secret",
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    breaks="The Command that prints the admin kubeconfig (admin-kubeconfig.sh) lists stdout in "
    "additionalSecretOutputs; otherwise the cluster-admin credential is stored in plain text in the state.",
    fix="create the Command with ResourceOptions(additional_secret_outputs=['stdout']).",
    validate=_check_kubeconfig_secret,
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


ADMIN_KUBECONFIG_NOT_LOGGED = resource_policy(
    "admin-kubeconfig-not-logged",
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    breaks="The Command that prints the admin kubeconfig does not log its stdout (logging stderr or none); "
    "the default logging copies the cluster-admin credential into the update's log, secret or not.",
    fix="create the Command with logging=command.local.Logging.STDERR.",
    validate=_check_kubeconfig_logging,
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


CLUSTER_PROVIDER_EXPLICIT_KUBECONFIG = resource_policy(
    "cluster-provider-explicit-kubeconfig",
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    breaks="Every Kubernetes provider of the stack is given a kubeconfig explicitly; a provider without one "
    "(the default provider among them) falls back to ~/.kube/config or $KUBECONFIG and deploys the stack's "
    "charts into whatever cluster that names, a production one perhaps.",
    fix="create releases with the ClusterAddons provider, built from the control plane's kubeconfig output.",
    validate=_check_provider_kubeconfig,
)
