"""The node entrypoint's iptables backend choice (node-image/.../iptables-backend.sh), with stand-ins.

The kubelet and kube-proxy must write to the backend that already holds the node's rules, or the
rules they write are invisible to the packets they are meant for.
"""

import subprocess

from tests.support import ROOT

SCRIPT = ROOT / "node-image" / "files" / "usr" / "local" / "lib" / "kindling" / "iptables-backend.sh"


def backend_chosen(tmp_path, legacy_rules: int, nft_rules: int):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "alternatives"
    commands = {"update-alternatives": f'echo "$*" >> {log}', "iptables-legacy": "", "iptables-nft": ""}
    for backend, rules in (("legacy", legacy_rules), ("nft", nft_rules)):
        for family in ("iptables", "ip6tables"):
            commands[f"{family}-{backend}-save"] = "".join(f"echo '-A X-{i}'\n" for i in range(rules))
    for name, body in commands.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT)], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip(), log.read_text().splitlines()


def test_the_backend_holding_more_rules_wins(tmp_path):
    chosen, calls = backend_chosen(tmp_path, legacy_rules=4, nft_rules=1)
    assert chosen == "legacy"
    assert calls == ["--set iptables /usr/sbin/iptables-legacy", "--set ip6tables /usr/sbin/ip6tables-legacy"]


def test_nft_when_it_holds_the_rules_or_nothing_holds_any(tmp_path):
    assert backend_chosen(tmp_path / "a", legacy_rules=0, nft_rules=6)[0] == "nft"
    assert backend_chosen(tmp_path / "b", legacy_rules=0, nft_rules=0)[0] == "nft"
