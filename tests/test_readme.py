"""The README tells the truth about stacks, configuration keys and set-up."""

import re

import yaml

from kindling import catalog
from kindling.versions import parse_release
from tests.support import ROOT, stack_names

README = (ROOT / "README.md").read_text()


def test_stack_table_matches_the_catalog():
    for version in catalog.known_releases():
        components = catalog.RELEASES[version]
        api = catalog.traits_for(parse_release(version)).kubeadm_api_version
        row = (
            f"| `k8s-{version.replace('.', '-')}` | {version} | {api} | {components.containerd} | {components.runc} "
            f"| {components.cni_plugins} | {components.crictl} | {components.helm} | {components.base_image} "
            f"| {components.calico} |"
        )
        assert row in README, f"README's stack table is out of date; expected:\n{row}"
    assert README.count("| `k8s-") == len(stack_names())


def test_every_config_key_is_documented_with_its_type_and_default():
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    for key, declaration in declared.items():
        if "default" in declaration:
            default = declaration["default"]
            shown = "`" + (yaml.safe_dump(default, default_flow_style=True).strip() if default != "" else '""') + "`"
            shown = shown.replace("\n...", "")
        else:
            shown = "(each stack sets it)"
        kind = declaration.get("type") or ("object" if isinstance(declaration["default"], dict) else "array")
        assert f"| `{key}` | {kind} | {shown} |" in README, f"README lacks the row of {key}"


def test_the_two_set_up_commands_are_the_ones_ci_and_make_know():
    assert "make up STACK=k8s-1-19-1" in README
    assert "make test " in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci, ".ci/run must run the README's test command"


def test_every_make_command_the_readme_shows_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    blocks = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    shown = {word for block in blocks for word in re.findall(r"(?:^|\s)make ([a-z][a-z0-9-]*)", block)}
    assert shown, "the README shows make commands"
    assert shown <= targets, f"the README shows make targets the Makefile lacks: {sorted(shown - targets)}"
