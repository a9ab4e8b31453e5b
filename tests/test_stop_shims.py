"""The node's shutdown (node-image: kindling-stop-shims.service and stop-shims.sh): containerd's shims ignore
SIGTERM, so a node shutting down waited for them until Docker killed it; the unit ends them after the kubelet
has stopped and before containerd does, and only when the node shuts down."""

import configparser
import subprocess

from tests.support import ROOT
from tests.test_scripts import stand_ins

FILES = ROOT / "node-image" / "files"
UNIT = FILES / "etc" / "systemd" / "system" / "kindling-stop-shims.service"
SCRIPT = FILES / "usr" / "local" / "lib" / "kindling" / "stop-shims.sh"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return parser


def stopped(tmp_path, state: str) -> list[str]:
    """Runs stop-shims.sh with systemd in ``state``; returns pkill's calls."""
    log = tmp_path / "pkill.log"
    env = stand_ins(
        tmp_path,
        {
            "systemctl": f'[ "$1" = is-system-running ] && echo {state}',
            "pkill": f'echo "$*" >> {log}; exit 1',  # 1: no process matched, as pkill says it
        },
    )
    result = subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_the_shims_are_killed_only_while_the_node_shuts_down(tmp_path):
    assert stopped(tmp_path / "stopping", "stopping") == ["-KILL -f containerd-shim"]
    for state in ("running", "degraded", "starting"):
        assert stopped(tmp_path / state, state) == [], state


def test_the_unit_stops_after_the_kubelet_and_before_containerd_and_is_enabled():
    # Units stop in the reverse order of their start: after containerd and before the kubelet at start.
    parsed = unit()
    assert parsed["Unit"]["After"] == "containerd.service"
    assert parsed["Unit"]["Before"] == "kubelet.service"
    assert parsed["Service"]["Type"] == "oneshot" and parsed["Service"]["RemainAfterExit"] == "yes"
    assert parsed["Service"]["ExecStop"] == "/usr/local/lib/kindling/stop-shims.sh"
    assert SCRIPT.stat().st_mode & 0o111  # the image runs it as it is
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    configure = (ROOT / "node-image" / "configure-node.sh").read_text()
    assert "systemctl enable containerd.service kubelet.service kindling-stop-shims.service" in configure
