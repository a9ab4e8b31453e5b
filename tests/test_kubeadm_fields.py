"""Every field kindling renders exists in the API version it is rendered for.

kubeadm, the kubelet and kube-proxy only warn about unknown fields and then
drop them, so a misplaced field would silently do nothing. The allowed field
paths in fixtures/kubeadm-fields.yaml were extracted from the upstream Go types
(json tags) of every minor from 1.18 to 1.36; fields that exist only in some
minors carry since/until bounds there.
"""

from functools import cache

import pytest
import yaml

from kindling.kubeadm_config import render_control_plane_join_config, render_init_config, render_join_config
from kindling.spec import build_spec
from tests.support import FIXTURES, stack_config, stack_names

FREE_FORM_MAPS = {"extraArgs", "kubeletExtraArgs", "evictionHard", "featureGates"}


@cache
def field_table() -> dict:
    return yaml.safe_load((FIXTURES / "kubeadm-fields.yaml").read_text())


def field_paths(document, prefix: str = "") -> set[str]:
    """Paths in the fixture's notation: dotted names, [] for lists, free-form maps as one leaf."""
    paths: set[str] = set()
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and key not in FREE_FORM_MAPS:
            paths |= field_paths(value, path)
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                paths |= field_paths(item, f"{path}[]")
        elif isinstance(value, list):
            paths.add(f"{path}[]")
        else:
            paths.add(path)
    return paths


def minor(text: str | None) -> tuple[int, int] | None:
    return None if text is None else tuple(int(part) for part in text.split("."))


def problems_in(document: dict, kubernetes_minor: tuple[int, int]) -> list[str]:
    table = field_table()
    api, kind = document["apiVersion"], document["kind"]
    allowed = set(table[api][kind]) | set(table["commonTopLevel"])
    bounds = table.get("fieldVersions", {}).get(api, {}).get(kind, {})
    problems = []
    for path in sorted(field_paths(document)):
        if path not in allowed:
            problems.append(f"{api} {kind} has no field {path}")
        elif path in bounds:
            since, until = minor(bounds[path]["since"]), minor(bounds[path]["until"])
            if (since and kubernetes_minor < since) or (until and kubernetes_minor > until):
                problems.append(f"{api} {kind}.{path} does not exist in {kubernetes_minor}")
    return problems


@pytest.mark.parametrize("stack", stack_names())
def test_every_rendered_field_exists_in_its_api_version(stack):
    spec = build_spec({**stack_config(stack), "workers": "1"}, stack)
    text = render_init_config(spec) + "---\n" + render_join_config(spec, 0, "kndlng.0123456789abcdef", "sha256:00")
    kubernetes_minor = (spec.kubernetes.major, spec.kubernetes.minor)
    problems = [p for doc in yaml.safe_load_all(text) for p in problems_in(doc, kubernetes_minor)]
    assert problems == []


@pytest.mark.parametrize("workers", ["0", "1"])
@pytest.mark.parametrize("stack", stack_names())
def test_every_field_of_a_highly_available_cluster_exists_in_its_api_version(stack, workers):
    spec = build_spec({**stack_config(stack), "workers": workers, "controlPlanes": "3"}, stack)
    joins = [
        render_control_plane_join_config(spec, i, "kndlng.0123456789abcdef", "sha256:00", "ab" * 32) for i in (1, 2)
    ]
    text = "---\n".join([render_init_config(spec), *joins])
    kubernetes_minor = (spec.kubernetes.major, spec.kubernetes.minor)
    problems = [p for doc in yaml.safe_load_all(text) for p in problems_in(doc, kubernetes_minor)]
    assert problems == []


def test_the_check_catches_a_field_from_the_wrong_api_version():
    # skipPhases arrived with v1beta3: in a v1beta2 document kubeadm would drop it silently.
    document = {"apiVersion": "kubeadm.k8s.io/v1beta2", "kind": "InitConfiguration", "skipPhases": ["preflight"]}
    assert problems_in(document, (1, 19)) == ["kubeadm.k8s.io/v1beta2 InitConfiguration has no field skipPhases[]"]


def test_the_check_catches_a_field_too_new_for_the_release():
    document = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "failCgroupV1": False}
    assert problems_in(document, (1, 30)) == [
        "kubelet.config.k8s.io/v1beta1 KubeletConfiguration.failCgroupV1 does not exist in (1, 30)"
    ]
    assert problems_in(document, (1, 35)) == []
