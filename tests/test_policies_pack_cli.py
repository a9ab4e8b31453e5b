"""The policy pack as the Pulumi CLI runs it: its entry point, project file, pinned requirements, and
the analyzer over gRPC."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from components.shell import SCRIPTS
from kindling import contract
from policies.kindling_policies import POLICIES, SEVERITY
from tests.pulumi_harness import Registration
from tests.test_policies_program import POLICIES_DIR, REFERENCE, deployed, is_control_plane, one

# --- the pack as the CLI runs it ---------------------------------------------------------------------------


def test_main_only_builds_the_pack_from_the_sibling_module():
    tree = ast.parse((POLICIES_DIR / "__main__.py").read_text())
    statements = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    imports = [s for s in statements if isinstance(s, ast.ImportFrom)]
    assert {(i.module, tuple(a.name for a in i.names)) for i in imports} == {
        ("kindling_policies", ("POLICIES",)),
        ("pulumi_policy", ("PolicyPack",)),
    }
    (call,) = [s for s in statements if not isinstance(s, ast.ImportFrom)]
    assert ast.unparse(call) == "PolicyPack(name='kindling', policies=POLICIES)"


def test_pack_project_file():
    project = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text())
    # Pulumi 3.184 accepts only the virtualenv option for policy packs ("toolchain" breaks the pack's start).
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert project["version"] and project["description"]


def test_pack_requirements_are_pinned_to_what_the_tests_ran():
    lines = [line.split("#")[0].strip() for line in (POLICIES_DIR / "requirements.txt").read_text().splitlines()]
    pins = dict(line.split("==") for line in lines if line)
    assert {"pulumi", "pulumi-policy", "pyyaml", "semver"} <= set(pins)
    for package in ("pulumi", "pulumi-policy", "pyyaml", "semver"):
        assert importlib.metadata.version(package) == pins[package], package


def test_the_scripts_the_pack_looks_for_exist():
    for script in (
        contract.INIT_SCRIPT,
        contract.JOIN_SCRIPT,
        contract.CONTROL_PLANE_JOIN_SCRIPT,
        contract.KUBECONFIG_SCRIPT,
    ):
        assert (SCRIPTS / script).is_file(), script


def test_pack_imports_stay_dependency_light():
    # As the CLI runs it: from policies/, with the sibling module imported top-level.
    probe = (
        "import sys, kindling_policies; "
        "heavy = {'pydantic', 'pulumi_docker', 'pulumi_command', 'pulumi_kubernetes', 'kindling.spec', 'components'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=POLICIES_DIR, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stderr


@pytest.fixture(scope="module")
def analyzer():
    """The pack's analyzer server, started as the Python language host starts it: python <pack dir>."""
    server = subprocess.Popen(
        [sys.executable, str(POLICIES_DIR)], cwd=POLICIES_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read() if server.poll() is not None else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_pack_reports_its_policies_with_levels_and_severities(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "kindling"
    levels = {p.name: (p.enforcementLevel, p.description.split(". ", 1)[0]) for p in info.policies}
    assert levels == {
        p.name: (proto.EnforcementLevel.Value(p.enforcement_level.name), f"Severity: {SEVERITY[p.name].value}")
        for p in POLICIES
    }
    schema = next(p for p in info.policies if p.name == "api-server-loopback-only").configSchema
    assert json_format.MessageToDict(schema.properties)["allowedAddresses"]["default"] == []


def _analyze(analyzer, registration: Registration):
    properties = struct_pb2.Struct()
    properties.update(registration.inputs)
    request = proto.AnalyzeRequest(
        type=registration.type,
        properties=properties,
        urn=registration.urn,
        name=registration.name,
        options=proto.AnalyzerResourceOptions(additionalSecretOutputs=registration.additional_secret_outputs),
    )
    return analyzer.Analyze(request, timeout=30).diagnostics


def test_pack_analyzes_over_grpc_and_honours_its_config(analyzer):
    node = one(deployed(REFERENCE, apiServerAddress="0.0.0.0").registrations, is_control_plane)
    (diagnostic,) = _analyze(analyzer, node)
    assert diagnostic.policyName == "api-server-loopback-only"
    assert diagnostic.enforcementLevel == proto.EnforcementLevel.MANDATORY
    assert diagnostic.description.startswith("Severity: high.")

    # What the CLI sends for --policy-pack-config {"api-server-loopback-only": {"allowedAddresses": ["0.0.0.0"]}}.
    config = proto.PolicyConfig(enforcementLevel=proto.EnforcementLevel.MANDATORY)
    config.properties.update({"allowedAddresses": ["0.0.0.0"]})
    analyzer.Configure(proto.ConfigureAnalyzerRequest(policyConfig={"api-server-loopback-only": config}), timeout=30)
    try:
        assert list(_analyze(analyzer, node)) == []
    finally:
        analyzer.Configure(proto.ConfigureAnalyzerRequest(policyConfig={}), timeout=30)
