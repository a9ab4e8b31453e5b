"""The house's layers: what may import what, how big a module may grow, and that a stack made
before the layers moved updates in place (every renamed resource carries its old name)."""

import ast
import json
from pathlib import Path

import pytest

from tests.pulumi_harness import run_program
from tests.support import FIXTURES, ROOT, stack_config

PROVIDER_PACKAGES = ("pulumi_docker", "pulumi_command", "pulumi_kubernetes")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).glob("*.py"))


@pytest.mark.parametrize("path", modules("kindling"), ids=lambda p: p.name)
def test_the_domain_imports_no_component_no_program_and_no_provider(path):
    for name in imports(path):
        top = name.split(".")[0]
        assert top not in ("components", "cluster", "bundle", "policies", *PROVIDER_PACKAGES), f"{path.name}: {name}"


@pytest.mark.parametrize("path", modules("components"), ids=lambda p: p.name)
def test_components_know_nothing_of_the_domain_but_the_contract(path):
    for name in imports(path):
        if name.split(".")[0] == "kindling":
            assert name.startswith("kindling.contract"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules("policies"), ids=lambda p: p.name)
def test_the_policy_pack_takes_only_dependency_free_domain_modules(path):
    allowed = ("kindling.contract", "kindling.catalog", "kindling.versions")
    for name in imports(path):
        if name.split(".")[0] == "kindling" and name != "kindling":
            assert name.startswith(allowed), f"{path.name} imports {name}"


def test_one_root_module_maps_the_spec_to_components():
    importers = [p.name for p in ROOT.glob("*.py") if any(n.startswith("components.") for n in imports(p))]
    assert importers == ["cluster.py"]


def test_no_module_outgrows_a_reader():
    sources = [*ROOT.glob("*.py"), *(p for d in ("kindling", "components", "policies", "bundle") for p in modules(d))]
    too_long = {p.relative_to(ROOT).as_posix(): n for p in sources if (n := len(p.read_text().splitlines())) > 360}
    assert not too_long


# Since: destroy removes the BuildKit cache records the node image build created.
BUILD_CACHE_STEPS = ["node-image-build-cache", "node-image-build-started"]


@pytest.mark.parametrize(
    "key, stack, extra",
    [
        (
            "reference-1-worker-chart-preload",
            "k8s-1-19-1",
            {
                "workers": "1",
                "preloadImages": json.dumps(["busybox:1.36"]),
                "charts": json.dumps([{"name": "e2e", "path": "tests", "version": "0.1.0", "namespace": "e2e"}]),
            },
        ),
        (
            "calico-capabilities-port",
            "k8s-1-34-0",
            {"cni": "calico", "nodeSecurity": "capabilities", "apiServerPort": "16443"},
        ),
    ],
)
def test_a_stack_made_before_the_layers_moved_updates_in_place(key, stack, extra):
    # URNs registered by the program before (tests/fixtures/urns-before-layers.json, from its previous
    # commit): each is still registered, or is the alias of the resource that took its place.
    before = json.loads((FIXTURES / "urns-before-layers.json").read_text())[key]
    registrations = run_program(stack, {**stack_config(stack), **extra}).registrations
    now = {r.urn for r in registrations} | {alias for r in registrations for alias in r.alias_urns}
    gone = sorted(urn.rsplit("::", 1)[1] for urn in set(before) - now)
    added = sorted(r.urn.rsplit("::", 1)[1] for r in registrations if r.urn not in before and not r.alias_urns)
    if "preloadImages" in extra:
        # Since: preloaded images are baked into the node image (staged with it), not loaded per node.
        assert gone == ["control-plane-images", "worker-1-images"]
        assert added == sorted([*BUILD_CACHE_STEPS, "kubeadm-ready", "node-image-staged-context"])
    else:
        assert gone == []
        assert added == sorted([*BUILD_CACHE_STEPS, "kubeadm-ready"]), "new: build cache steps, control plane Ready"
