"""make recover: after an interrupted up, what it finds in the state and on the engine, and what it removes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import recover

from tests.support import commands_first_on_path

CONTAINER_OWNED = "a" * 64
CONTAINER_STRAY = "b" * 64
NETWORK = "c" * 64
IMAGE_OWNED = "sha256:" + "d" * 64
IMAGE_STRAY = "sha256:" + "e" * 64

# The state after an up killed while the worker's container was being created: the control plane
# and the node image are recorded, the worker's container is a pending create, the network is not
# recorded at all (its create was cut short too).
STATE = {
    "resources": [
        {"type": "docker:index/container:Container", "urn": "urn:...::control-plane", "id": CONTAINER_OWNED},
        {"type": "docker:index/remoteImage:RemoteImage", "urn": "urn:...::node-image",
         "id": IMAGE_OWNED + "kindling/c1:v1.19.1-1", "outputs": {"imageId": IMAGE_OWNED}},
        {"type": "command:local:Command", "urn": "urn:...::kubeadm-init", "id": "x", "outputs": {"stdout": "ok"}},
    ],
    "pending_operations": [
        {"type": "creating", "resource": {"type": "docker:index/container:Container", "urn": "urn:...::worker-1"}},
        {"type": "updating", "resource": {"type": "command:local:Command", "urn": "urn:...::other"}},
    ],
}  # fmt: skip

FAKE_DOCKER = textwrap.dedent(
    f"""\
    #!/bin/sh
    echo "$*" >> "$FAKE_DOCKER_LOG"
    case "$*" in
      "ps -a --no-trunc --filter label=kindling.cluster=c1 "*)
        echo "{CONTAINER_OWNED} c1-control-plane"; echo "{CONTAINER_STRAY} c1-worker-1";;
      "network ls --no-trunc --filter name=^c1\\$ "*) echo "{NETWORK} c1";;
      "images --no-trunc kindling/c1 "*)
        echo "{IMAGE_OWNED} kindling/c1:v1.19.1-1"; echo "{IMAGE_STRAY} kindling/c1:v1.19.1-0";;
      "images --no-trunc kindling/c1-lb "*) ;;
    esac
    """
)  # fmt: skip


@pytest.fixture
def docker_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "docker.log"
    log.touch()
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    commands_first_on_path(monkeypatch, tmp_path / "bin", {"docker": FAKE_DOCKER})
    return log


def test_pending_creates_are_named_by_type_and_resource_name():
    assert recover.pending_creates(STATE) == ["docker:index/container:Container worker-1"]
    assert recover.pending_creates({"resources": []}) == []


def test_the_strays_are_the_clusters_objects_no_resource_owns(docker_log: Path):
    found = recover.strays("c1", recover.owned_ids(STATE))
    assert [(s.kind, s.name) for s in found] == [
        ("container", "c1-worker-1"),
        ("network", "c1"),
        ("image", "kindling/c1:v1.19.1-0"),
    ]


def test_recover_clears_pending_creates_then_removes_only_the_strays(
    docker_log: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    refreshed = []
    states = [STATE, {**STATE, "pending_operations": []}]
    monkeypatch.setattr(recover, "deployment", lambda stack: states.pop(0))

    def fake_run(command, **kwargs):
        if command[:2] == ["pulumi", "refresh"]:
            refreshed.append(command)
            return recover.subprocess.CompletedProcess(command, 0, "", "")
        return real_run(command, **kwargs)

    real_run = recover.subprocess.run
    monkeypatch.setattr(recover.subprocess, "run", fake_run)

    assert recover.main(["c1"]) == 0

    assert refreshed and "--clear-pending-creates" in refreshed[0] and refreshed[0][-1] == "c1"
    removed = [c for c in docker_log.read_text().splitlines() if c.startswith(("rm ", "rmi ", "network rm"))]
    assert removed == [f"rm --force --volumes {CONTAINER_STRAY}", f"network rm {NETWORK}", f"rmi --force {IMAGE_STRAY}"]
    out = capsys.readouterr().out
    assert "interrupted while creating:\n  docker:index/container:Container worker-1" in out
    assert "make up STACK=c1 finishes the cluster" in out


def test_a_dry_run_changes_nothing(docker_log: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr(recover, "deployment", lambda stack: STATE)
    assert recover.main(["c1", "--dry-run"]) == 0
    calls = docker_log.read_text().splitlines()
    assert not [c for c in calls if c.startswith(("rm ", "rmi ", "network rm"))]
    assert "would remove container c1-worker-1" in capsys.readouterr().out


def test_a_stack_whose_state_and_engine_agree_is_told_so(docker_log: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr(recover, "deployment", lambda stack: {"resources": []})
    monkeypatch.setattr(recover, "refresh", lambda stack: True)
    assert recover.main(["other"]) == 0
    assert "nothing to recover" in capsys.readouterr().out
    assert not [c for c in docker_log.read_text().splitlines() if c.startswith(("rm ", "rmi ", "network rm"))]


def lock_message(tmp_path: Path, pid: int, hostname: str) -> str:
    lock = tmp_path / ".pulumi" / "locks" / "organization" / "kindling" / "c1" / "0b1d.json"
    lock.parent.mkdir(parents=True)
    lock.write_text(
        json.dumps({"pid": pid, "username": "root", "hostname": hostname, "timestamp": "2026-12-03T21:05Z"})
    )
    return (
        "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete "
        f"the lock file with `pulumi cancel`.\n  file://{lock}?no_tmp_dir=true: created by root@{hostname} (pid {pid})"
    )


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def test_the_lock_of_a_killed_update_on_this_host_is_lifted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    cancelled = []
    monkeypatch.setattr(
        recover.subprocess,
        "run",
        lambda command, **kw: cancelled.append(command) or subprocess.CompletedProcess(command, 0),
    )
    assert recover.lift_stale_lock("c1", lock_message(tmp_path, dead_pid(), socket.gethostname()))
    assert cancelled == [["pulumi", "cancel", "--yes", "--stack", "c1"]]
    assert "is gone: pulumi cancel lifts its lock" in capsys.readouterr().out


@pytest.mark.parametrize("holder", ["running here", "another host"])
def test_a_lock_whose_update_may_still_run_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, holder, capsys
):
    monkeypatch.setattr(recover.subprocess, "run", lambda *a, **kw: pytest.fail("nothing may be cancelled"))
    pid, host = (os.getpid(), socket.gethostname()) if holder == "running here" else (dead_pid(), "elsewhere")
    assert not recover.lift_stale_lock("c1", lock_message(tmp_path, pid, host))
    assert "is still running" in capsys.readouterr().out


def test_provider_plugins_whose_pulumi_is_gone_are_found_and_no_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    plugins = "/home/u/.pulumi/plugins/resource-docker-v5.0.0/pulumi-resource-docker"
    ps = (
        "#!/bin/sh\n"
        f"echo '  2636     1 {plugins} 127.0.0.1:34097'\n"  # its engine no longer listens: orphaned
        f"echo '  2700     1 {plugins} 127.0.0.1:40000'\n"  # its engine listens: someone's update
        f"echo '  2800  2799 {plugins} 127.0.0.1:34097'\n"  # its pulumi is its parent, alive
        "echo '  2900     1 /usr/bin/dockerd -H fd://'\n"
    )
    ss = "#!/bin/sh\necho 'LISTEN 0 4096 127.0.0.1:40000 0.0.0.0:*'\n"
    commands_first_on_path(monkeypatch, tmp_path / "bin", {"ps": ps, "ss": ss})
    assert recover.orphaned_plugins() == [(2636, "pulumi-resource-docker")]
