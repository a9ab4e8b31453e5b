"""The bundle's iptables-wrapper (kube-proxy and flannel images), run over stand-in iptables backends.

kube-proxy runs on the node's network: its rules must land in the backend the node's
kubelet already uses, or Services answer nowhere.
"""

import subprocess

from tests.support import ROOT

WRAPPER = ROOT / "bundle" / "image-files" / "iptables-wrapper"
NAMES = ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore")


def sbin_with_backends(tmp_path, legacy_rules: int, nft_rules: int):
    sbin = tmp_path / "sbin"
    sbin.mkdir(parents=True)
    (sbin / "iptables-wrapper").write_bytes(WRAPPER.read_bytes())
    (sbin / "iptables-wrapper").chmod(0o755)
    for backend, rules in (("legacy", legacy_rules), ("nft", nft_rules)):
        save = "".join(f"-A KUBE-CHAIN-{i} -j RETURN\\n" for i in range(rules))
        for family in ("iptables", "ip6tables"):
            script = sbin / f"{family}-{backend}-save"
            script.write_text(f'#!/bin/sh\nprintf "*filter\\n{save}COMMIT\\n"\n')
            script.chmod(0o755)
        multi = sbin / f"xtables-{backend}-multi"
        multi.write_text(f'#!/bin/sh\necho "{backend} $(basename "$0") $*"\n')
        multi.chmod(0o755)
    return sbin


def call(sbin, *command):
    env = {"PATH": "/usr/bin:/bin", "SBIN": str(sbin)}
    return subprocess.run([str(sbin / command[0]), *command[1:]], env=env, capture_output=True, text=True, check=True)


def test_install_puts_the_wrapper_in_place_of_every_iptables_name(tmp_path):
    sbin = sbin_with_backends(tmp_path, 0, 0)
    call(sbin, "iptables-wrapper", "--install")
    assert all((sbin / name).readlink().name == "iptables-wrapper" for name in NAMES)


def test_the_backend_holding_the_nodes_rules_is_chosen_once(tmp_path):
    sbin = sbin_with_backends(tmp_path, legacy_rules=12, nft_rules=2)
    call(sbin, "iptables-wrapper", "--install")
    assert call(sbin, "iptables-save", "-t", "nat").stdout.strip() == "legacy iptables-save -t nat"
    assert all((sbin / name).readlink().name == "xtables-legacy-multi" for name in NAMES)
    assert call(sbin, "ip6tables", "-L").stdout.strip() == "legacy ip6tables -L", "later calls go straight through"


def test_nft_when_the_node_uses_it_or_holds_no_rules_yet(tmp_path):
    for legacy, nft in ((3, 9), (0, 0)):
        sbin = sbin_with_backends(tmp_path / f"{legacy}-{nft}", legacy, nft)
        call(sbin, "iptables-wrapper", "--install")
        assert call(sbin, "iptables", "-w", "-N", "KUBE-X").stdout.strip() == "nft iptables -w -N KUBE-X"
