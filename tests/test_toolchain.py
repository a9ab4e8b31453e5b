"""The Pulumi CLI and plugins .ci/pulumi-toolchain.sh builds match the Python packages we pin.

A CLI or plugin of another version than the SDK asks for is refused by the engine
(automatic plugin download is off), so the pins must move together.
"""

import subprocess

from tests.support import ROOT

TOOLCHAIN = ROOT / ".ci" / "pulumi-toolchain.sh"


def pins(path) -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return dict(line.split("==") for line in lines if line)


def toolchain_versions() -> dict[str, tuple[str, str]]:
    result = subprocess.run(["bash", str(TOOLCHAIN), "--versions"], capture_output=True, text=True, check=True)
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()]
    return {name: (version, status) for name, version, status in rows}


def test_cli_language_host_and_providers_match_the_python_pins():
    program = pins(ROOT / "requirements.txt")
    built = toolchain_versions()
    assert built["pulumi"] == (program["pulumi"], "built")
    assert built["pulumi-language-python"] == (program["pulumi"], "built")
    assert built["kubernetes"] == (program["pulumi-kubernetes"], "built")
    assert built["command"][0] == program["pulumi-command"]
    assert built["docker"][0] == program["pulumi-docker"]


def test_policy_pack_runs_on_the_same_pulumi():
    program, pack, dev = (
        pins(ROOT / "requirements.txt"),
        pins(ROOT / "policies" / "requirements.txt"),
        pins(ROOT / "requirements-dev.txt"),
    )
    assert pack["pulumi"] == program["pulumi"]
    assert pack["pulumi-policy"] == dev["pulumi-policy"] == toolchain_versions()["pulumi-policy"][0]
