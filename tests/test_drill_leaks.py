"""Drill 6's eyes: what it takes for a leaked credential, and what it must not."""

import base64

from tests.drills.leaks import found_in, scan

KEY_PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1\n-----END RSA PRIVATE KEY-----\n"
CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkq\n-----END CERTIFICATE-----\n"


def test_a_kubeconfig_client_key_is_found_as_the_kubeconfig_holds_it():
    data = base64.b64encode(KEY_PEM.encode()).decode()
    assert found_in(f"client-key-data: {data}\n", {}) == ["a private key (base64)"]
    assert found_in(f'"client-key-data":"{data}"', {"the key": data}) == ["the key", "a private key (base64)"]


def test_public_certificates_and_ordinary_text_are_not_leaks():
    data = base64.b64encode(CERT_PEM.encode()).decode()
    assert found_in(f"certificate-authority-data: {data}\n{CERT_PEM}", {}) == []
    assert found_in("docker exec k8s-1-19-1-control-plane kubeadm token create --ttl 15m", {}) == []
    assert found_in("image registry.k8s.io/kube-apiserver:v1.19.1 kindling.cluster=k8s-1-19-1", {}) == []


def test_a_bootstrap_token_or_certificate_key_on_a_command_line_is_found():
    token_line = "kubeadm join 10.19.1.2:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash x"
    assert found_in(token_line, {}) == ["a bootstrap token"]
    key_line = "kubeadm join --control-plane --certificate-key " + "3f" * 32
    assert found_in(key_line, {}) == ["a certificate key"]
    assert found_in(KEY_PEM, {}) == ["a private key"]


def test_scan_says_where_and_what():
    found = scan(
        {"process list": {"samples": "sh -c 'kubeadm join --token abcdef.0123456789abcdef'"}, "state": {"a": "{}"}}, {}
    )
    assert found == {"process list samples": ["a bootstrap token"]}


def test_a_report_names_the_process_without_repeating_its_secret():
    from tests.drills.leaks import ProcessSampler

    sampler = ProcessSampler()
    sampler.samples = {"sed -e s|@KINDLING_JOIN_TOKEN@|abcdef.0123456789abcdef|", "sleep 1"}
    found = scan({"process list": sampler.texts({})}, {})
    assert found == {"process list sed -e s|@KINDLING_JOIN_TOKEN@|<secret>|": ["a bootstrap token"]}


GLOG_TIME = "I1203 10:22:33.123456   4242"
KUBECONFIG = (
    "apiVersion: v1\nusers:\n- name: admin\n  user:\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkt\n"
)


def test_a_credential_in_the_engines_rpc_trace_is_counted_apart_from_any_other_record():
    from tests.drills.leaks import verbose_log_records

    log = (
        f"{GLOG_TIME} rpc.go:77] Marshaling property for RPC[Provider[command].Create()]: create={{echo ok}}\n"
        f"{GLOG_TIME} rpc.go:281] Unmarshaling property for RPC[Provider[command].Create()]: stdout={{{KUBECONFIG}}}\n"
        f"{GLOG_TIME} step_executor.go:402] StepExecutor worker(-2): step create on urn:kubeadm-init done\n"
        f"{GLOG_TIME} eventsink.go:62] kubeadm-init stdout: {KUBECONFIG}"
    )
    others, engine = verbose_log_records(log)
    rpc = "the engine's RPC property trace (rpc.go)"
    assert list(engine) == [f"line 1: {rpc}", f"line 2: {rpc}"]
    assert engine[f"line 2: {rpc}"].endswith("client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkt\n}")
    assert list(others) == ["line 8", "line 9"]
    # The continuation of a kubeconfig printed by anything but the RPC trace is kindling's leak.
    assert "client-key-data" in others["line 9"] and "client-key-data" not in others["line 8"]


def test_a_record_only_mentioning_the_rpc_trace_is_not_taken_for_it():
    from tests.drills.leaks import verbose_log_records

    others, engine = verbose_log_records(
        f"text before any record\n{GLOG_TIME} log.go:9] echo 'Marshaling property for RPC[x]: key={KUBECONFIG}'\n"
    )
    assert engine == {}
    assert list(others) == ["line 1", "line 2"]


def test_pulumis_step_plan_and_the_sdks_registered_outputs_are_pulumis_traces_too():
    from tests.drills.leaks import verbose_log_records

    log = (
        f"{GLOG_TIME} step_generator.go:1482] Planner decided to create 'urn:x::addons-cluster' (inputs=map["
        f"kubeconfig:{{{KUBECONFIG}}}])\n"
        f"{GLOG_TIME} eventsink.go:59] register resource outputs prepared: urn=urn:x::kubeadm, props=fields {{\n"
        f"{GLOG_TIME} eventsink.go:59] resource registration successful: ty=kindling:index:Kubeadm, urn={KUBECONFIG}"
        f"{GLOG_TIME} eventsink.go:62] eventSink::Debug(<{{%reset%}}>resource registration successful: urn=u, props=\n"
        f"{GLOG_TIME} eventsink.go:62] eventSink::Debug(<{{%reset%}}>kindling: wrote {KUBECONFIG}"
    )
    others, traces = verbose_log_records(log)
    assert [where.split(": ", 1)[1] for where in traces] == [
        "the engine's step plan (step_generator.go)",
        "the Python SDK's debug line of registered outputs",
        "the Python SDK's debug line of registered outputs",
    ]
    # The SDK's line without outputs, or one of kindling's own through the same event sink, is not excused.
    assert list(others) == ["line 8", "line 14"]
    assert "client-key-data" in others["line 8"] and "client-key-data" in others["line 14"]
