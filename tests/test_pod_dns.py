"""node-image's pod-dns.sh, run against Docker's real NAT rules with stand-in ip and iptables commands.

Without it, pods inherit the node's resolv.conf (127.0.0.11, Docker's embedded DNS,
reachable only on the node's own loopback) and CoreDNS stops on its loop check,
as a real cluster showed.
"""

import os
import subprocess

from tests.support import ROOT

SCRIPT = ROOT / "node-image" / "files" / "usr" / "local" / "lib" / "kindling" / "pod-dns.sh"

# What Docker 20.10 puts in a container's nat table on a user-defined network (read off a node).
DOCKER_NAT = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER_OUTPUT - [0:0]
:DOCKER_POSTROUTING - [0:0]
-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
-A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:35813
-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:55523
-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p tcp -m tcp --sport 35813 -j SNAT --to-source :53
-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 55523 -j SNAT --to-source :53
COMMIT
"""


def stand_ins(bin_dir, log, route="default via 10.34.0.1 dev eth0"):
    """ip, iptables-save, iptables-restore and iptables that answer like a node's and log what they get."""
    bin_dir.mkdir()
    commands = {
        "ip": f'echo "{route}"',
        "iptables-save": f"cat <<'EOF'\n{DOCKER_NAT}EOF",
        "iptables-restore": f'{{ echo "restore:"; cat; }} >> "{log}"',
        "iptables": f'echo "iptables $*" >> "{log}"',
    }
    for name, body in commands.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)


def run(tmp_path, resolv: str, **kwargs):
    log = tmp_path / "calls.log"
    log.touch()
    stand_ins(tmp_path / "bin", log, **kwargs)
    (tmp_path / "resolv.conf").write_text(resolv)
    sysctl = tmp_path / "sys/net/ipv4/conf/all/route_localnet"
    sysctl.parent.mkdir(parents=True)
    sysctl.write_text("0\n")
    environment = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "RESOLV_CONF": str(tmp_path / "resolv.conf"),
        "PROC_SYS": str(tmp_path / "sys"),
    }
    result = subprocess.run(["sh", str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return log.read_text(), (tmp_path / "resolv.conf").read_text(), sysctl.read_text()


def test_docker_dns_moves_to_the_gateway_for_the_node_and_its_pods(tmp_path):
    calls, resolv, route_localnet = run(tmp_path, "nameserver 127.0.0.11\noptions ndots:0\n")
    assert resolv == "nameserver 10.34.0.1\noptions ndots:0\n"
    restored = calls.split("restore:\n", 1)[1].split("iptables ", 1)[0]
    assert "-A OUTPUT -d 10.34.0.1/32 -j DOCKER_OUTPUT" in restored
    assert "-A DOCKER_OUTPUT -d 10.34.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:55523" in (
        restored
    ), "queries to the gateway reach Docker's resolver, which still listens on 127.0.0.11"
    assert "-d 127.0.0.11/32" not in restored
    assert "iptables -t nat -A PREROUTING -d 10.34.0.1/32 -j DOCKER_OUTPUT" in calls, "pods' queries are routed"
    assert route_localnet == "1\n"


def test_nothing_changes_off_dockers_embedded_dns(tmp_path):
    calls, resolv, route_localnet = run(tmp_path, "nameserver 192.168.1.1\n")
    assert (calls, resolv, route_localnet) == ("", "nameserver 192.168.1.1\n", "0\n")
