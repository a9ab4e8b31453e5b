"""The credential policies (policies/credentials.py): the admin kubeconfig secret and unlogged, no credential
in a kubeadm configuration, the cluster's provider on an explicit kubeconfig.
"""

from __future__ import annotations

import pytest
import yaml

from tests.policy_args import UNKNOWN
from tests.policy_fixtures import (
    AT_INIT,
    AT_JOIN,
    AT_KUBECONFIG,
    AT_SYSTEMD,
    COMMAND,
    CONTAINER,
    DELETE,
    INIT,
    JOIN,
    JOIN_CONFIG,
    K8S_PROVIDER,
    KUBECONFIG,
    NODE,
    RELEASE,
    SYSTEMD,
    TOKEN,
    changed,
    check,
    kind,
    with_documents,
)

# --- admin kubeconfig ----------------------------------------------------------------------------------

SECRET = "admin-kubeconfig-secret"
LOGGED = "admin-kubeconfig-not-logged"


def test_kubeconfig_with_secret_stdout_passes():
    assert check(SECRET, COMMAND, KUBECONFIG, additional_secret_outputs=["stdout"]) == []


@pytest.mark.parametrize("outputs", [[], ["stderr"]])
def test_kubeconfig_without_secret_stdout_is_reported(outputs):
    (message,) = check(SECRET, COMMAND, KUBECONFIG, additional_secret_outputs=outputs)
    assert "not in additionalSecretOutputs" in message


@pytest.mark.parametrize("props, where", [(INIT, AT_INIT), (JOIN, AT_JOIN), (SYSTEMD, AT_SYSTEMD)])
def test_kubeconfig_secret_ignores_other_commands(props, where):
    assert check(SECRET, COMMAND, props, **where) == []


def test_the_kubeconfig_command_is_found_by_where_it_is_not_by_what_it_runs():
    # A preview may not know the Command's create; the policy still knows which Command it is.
    (message,) = check(SECRET, COMMAND, changed(KUBECONFIG, "create", UNKNOWN))
    assert "not in additionalSecretOutputs" in message


@pytest.mark.parametrize("logging", ["stderr", "none"])
def test_kubeconfig_not_logged_passes(logging):
    assert check(LOGGED, COMMAND, {**KUBECONFIG, "logging": logging}) == []


@pytest.mark.parametrize(
    ("logging", "shown"),
    [(DELETE, "stdoutAndStderr (the default)"), ("stdout", "stdout"), ("stdoutAndStderr", "stdoutAndStderr")],
)
def test_kubeconfig_logged_is_reported(logging, shown):
    (message,) = check(LOGGED, COMMAND, changed(KUBECONFIG, "logging", logging))
    assert f"logging {shown!r}" in message


@pytest.mark.parametrize(
    "props, where",
    [(changed(KUBECONFIG, "logging", UNKNOWN), AT_KUBECONFIG), (INIT, AT_INIT), (SYSTEMD, AT_SYSTEMD)],
)
def test_kubeconfig_logging_skips_unknowns_and_other_commands(props, where):
    assert check(LOGGED, COMMAND, props, **where) == []


# --- kubeadm-config-without-credentials ----------------------------------------------------------------

CREDENTIALS = "kubeadm-config-without-credentials"


@pytest.mark.parametrize("props", [INIT, JOIN, KUBECONFIG, SYSTEMD])
def test_commands_without_credentials_pass(props):
    assert check(CREDENTIALS, COMMAND, props) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({**JOIN, "stdin": JOIN_CONFIG.replace("'@KINDLING_JOIN_TOKEN@'", TOKEN)}, "stdin of Command"),
        ({**JOIN, "create": f"kubeadm join --token {TOKEN}"}, "create of Command"),
        ({**SYSTEMD, "environment": {"TOKEN": TOKEN}}, "environment.TOKEN of Command"),
    ],
)
def test_a_bootstrap_token_anywhere_in_a_command_is_reported_without_repeating_it(props, expected):
    messages = check(CREDENTIALS, COMMAND, props)
    assert any(expected in m for m in messages)
    assert not any(TOKEN in m for m in messages)


@pytest.mark.parametrize(
    ("kind_name", "field", "value", "expected"),
    [
        ("InitConfiguration", "bootstrapTokens", [{"token": "@T@"}, {"token": "x"}], "bootstrapTokens[].token"),
        ("InitConfiguration", "certificateKey", "f" * 64, "certificateKey"),
    ],
)
def test_credentials_in_the_init_config_are_reported(kind_name, field, value, expected):
    (message,) = check(
        CREDENTIALS, COMMAND, with_documents(INIT, lambda d: kind(d, kind_name).__setitem__(field, value))
    )
    assert f"the {kind_name} in the stdin of 'subject' sets {expected}" in message


def test_tls_bootstrap_token_in_a_join_config_is_reported():
    def edit(docs):
        docs[0]["discovery"]["tlsBootstrapToken"] = "secret"

    (message,) = check(CREDENTIALS, COMMAND, with_documents(JOIN, edit))
    assert "discovery.tlsBootstrapToken" in message


CERTIFICATE_KEY = "5e" * 32
CONTROL_PLANE_JOIN_CONFIG = yaml.safe_dump(
    {
        **yaml.safe_load(JOIN_CONFIG),
        "controlPlane": {
            "localAPIEndpoint": {"advertiseAddress": "10.30.0.3", "bindPort": 6443},
            "certificateKey": "@KINDLING_CERTIFICATE_KEY@",
        },
    },
    sort_keys=False,
)
CONTROL_PLANE_JOIN = {
    "create": "/bin/sh -c '...' kubeadm-join-control-plane.sh c-control-plane c-control-plane-2",
    "stdin": CONTROL_PLANE_JOIN_CONFIG,
}


def test_a_control_plane_join_with_a_placeholder_certificate_key_passes():
    assert check(CREDENTIALS, COMMAND, CONTROL_PLANE_JOIN) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (
            {**CONTROL_PLANE_JOIN, "stdin": CONTROL_PLANE_JOIN_CONFIG.replace("'@KINDLING_CERTIFICATE_KEY@'", "k")},
            "sets controlPlane.certificateKey",
        ),
        (
            {**CONTROL_PLANE_JOIN, "create": f"kubeadm join --control-plane --certificate-key {CERTIFICATE_KEY}"},
            "create of Command 'subject' contains a kubeadm certificate key",
        ),
        (
            {
                **SYSTEMD,
                "environment": {"KINDLING_SCRIPT": f"kubeadm init --upload-certs --certificate-key={CERTIFICATE_KEY}"},
            },
            "environment.KINDLING_SCRIPT of Command 'subject' contains a kubeadm certificate key",
        ),
        (
            {**SYSTEMD, "environment": {"CONFIG": f'{{"certificateKey": "{CERTIFICATE_KEY}"}}'}},
            "environment.CONFIG of Command 'subject' contains a kubeadm certificate key",
        ),
    ],
)
def test_a_certificate_key_given_to_a_command_is_reported_without_repeating_it(props, expected):
    messages = check(CREDENTIALS, COMMAND, props)
    assert any(expected in m for m in messages), messages
    assert not any(CERTIFICATE_KEY in m for m in messages)


def test_a_digest_is_not_a_certificate_key():
    props = {**SYSTEMD, "environment": {"MANIFEST": f"kubeadm sha256:{CERTIFICATE_KEY}\n{CERTIFICATE_KEY}  kubelet"}}
    assert check(CREDENTIALS, COMMAND, props) == []


def test_credentials_skip_unknown_inputs():
    assert check(CREDENTIALS, COMMAND, {"create": UNKNOWN, "stdin": UNKNOWN}) == []


# --- cluster-provider-explicit-kubeconfig ------------------------------------------------------------------

EXPLICIT = "cluster-provider-explicit-kubeconfig"


def test_provider_with_the_clusters_kubeconfig_passes():
    assert check(EXPLICIT, K8S_PROVIDER, {"kubeconfig": "apiVersion: v1\nkind: Config\n"}) == []
    assert check(EXPLICIT, K8S_PROVIDER, {"kubeconfig": UNKNOWN}) == []  # a first preview
    assert check(EXPLICIT, K8S_PROVIDER, {"renderYamlToDirectory": "out"}) == []  # talks to no cluster


@pytest.mark.parametrize("props", [{}, {"kubeconfig": ""}, {"context": "prod"}])
def test_provider_falling_back_to_the_users_kubeconfig_is_reported(props):
    (message,) = check(EXPLICIT, K8S_PROVIDER, props)
    assert "~/.kube/config" in message


def test_only_kubernetes_providers_are_checked():
    assert check(EXPLICIT, RELEASE, {"chart": "x", "version": "1.0.0"}) == []
    assert check(EXPLICIT, CONTAINER, NODE) == []
