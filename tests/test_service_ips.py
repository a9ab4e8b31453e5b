"""node-image's service-ips.sh, with a stand-in iptables that logs what it gets.

Without it, a pod's connection to a port a Service no longer has left the node for the Docker
host, whose egress proxy here accepted it: 1.34.0's conformance test "Services should serve
endpoints on same port and different protocols" failed on that.
"""

import subprocess

from tests.support import ROOT

SCRIPT = ROOT / "node-image" / "files" / "usr" / "local" / "lib" / "kindling" / "service-ips.sh"
RULES = [
    "-w -A KINDLING-SERVICE-IPS -d 10.96.0.0/12 -p tcp -j REJECT --reject-with tcp-reset",
    "-w -A KINDLING-SERVICE-IPS -d 10.96.0.0/12 -j REJECT --reject-with icmp-port-unreachable",
]


def run(tmp_path, *arguments, chain_exists=False, jump_exists=False):
    """The script's iptables calls; the stand-in fails -N and -C as a node that has the chain and jump would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "iptables.log"
    log.unlink(missing_ok=True)
    failing = [flag for flag, fails in (("-N", chain_exists), ("-C", not jump_exists)) if fails]
    cases = "".join(f'    *" {flag} "*) exit 1;;\n' for flag in failing)
    (bin_dir / "iptables").write_text(f'#!/bin/sh\necho "$*" >> {log}\ncase " $* " in\n{cases}esac\nexit 0\n')
    (bin_dir / "iptables").chmod(0o755)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "SERVICE_SUBNET_FILE": str(tmp_path / "etc/service-subnet")}
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT), *arguments], env=environment, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_untranslated_service_packets_are_refused_first_in_forward_and_the_subnet_kept(tmp_path):
    calls = run(tmp_path, "10.96.0.0/12")
    assert calls == [
        "-w -N KINDLING-SERVICE-IPS",
        *RULES,
        "-w -C FORWARD -j KINDLING-SERVICE-IPS",
        "-w -I FORWARD -j KINDLING-SERVICE-IPS",
    ]
    assert (tmp_path / "etc/service-subnet").read_text() == "10.96.0.0/12\n"


def test_every_boot_applies_the_kept_subnet_and_a_second_run_adds_nothing_twice(tmp_path):
    run(tmp_path, "10.96.0.0/12")
    calls = run(tmp_path, chain_exists=True, jump_exists=True)
    assert calls == [
        "-w -N KINDLING-SERVICE-IPS",
        "-w -F KINDLING-SERVICE-IPS",
        *RULES,
        "-w -C FORWARD -j KINDLING-SERVICE-IPS",
    ]


def test_a_node_in_no_cluster_yet_is_left_alone(tmp_path):
    assert run(tmp_path) == []
    assert not (tmp_path / "etc/service-subnet").exists()
