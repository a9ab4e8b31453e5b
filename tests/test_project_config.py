"""Pulumi.yaml declares every key the program reads, with the program's own defaults.

The engine applies Pulumi.yaml's defaults before the program runs, but mocks
and the program's own validation rely on kindling/config.py's defaults: the two
must never drift apart.
"""

import yaml
from pydantic.alias_generators import to_camel

from kindling.config import StackConfig, parse_stack_config
from tests.support import ROOT, engine_value

PYTHON_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}
# Keys whose values are structures: Pulumi 3.184 has no object type, so they are declared untyped.
STRUCTURED = {"components": dict, "charts": list, "downloads": dict}


def project() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_project_runs_python_from_stacks_dir():
    document = project()
    assert document["name"] == "kindling"
    assert document["runtime"]["name"] == "python"
    assert document["runtime"]["options"]["virtualenv"] == ".venv"
    assert document["stackConfigDir"] == "stacks"


def test_every_key_the_program_reads_is_declared_and_vice_versa():
    declared = set(project()["config"])
    read = {to_camel(name) for name in StackConfig.model_fields}
    assert declared == read


def test_each_declaration_has_a_type_description_and_well_typed_default():
    for key, declaration in project()["config"].items():
        assert declaration.get("description"), key
        if key in STRUCTURED:
            assert "type" not in declaration, f"{key}: Pulumi 3.184 rejects type object and arrays of objects"
            assert isinstance(declaration["default"], STRUCTURED[key]), key
            continue
        assert declaration["type"] in PYTHON_TYPES, key
        if "default" in declaration:
            assert isinstance(declaration["default"], PYTHON_TYPES[declaration["type"]]), key


def test_only_the_kubernetes_version_is_required():
    required = {key for key, declaration in project()["config"].items() if "default" not in declaration}
    assert required == {"kubernetesVersion"}
    assert StackConfig.model_fields["kubernetes_version"].is_required()


def test_declared_defaults_mean_the_same_as_the_program_defaults():
    defaults = {
        key: engine_value(declaration["default"])
        for key, declaration in project()["config"].items()
        if "default" in declaration
    }
    from_pulumi_yaml = parse_stack_config({**defaults, "kubernetesVersion": "1.19.1"})
    from_program = parse_stack_config({"kubernetesVersion": "1.19.1"})
    assert from_pulumi_yaml == from_program
