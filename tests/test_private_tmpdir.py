"""make up, preview and destroy run Pulumi with a TMPDIR of its own, removed after: the kubernetes provider
leaves a copy of the cluster's admin kubeconfig there each time it is configured (tools/private-tmpdir.sh)."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT

WRAPPER = ROOT / "tools" / "private-tmpdir.sh"

# What the provider does at its start: a kubeconfig file in $TMPDIR, left there.
LEAVE_A_KUBECONFIG = (
    "import os, pathlib, sys, time\n"
    "tmp = pathlib.Path(os.environ['TMPDIR'])\n"
    "(tmp / 'kubeconfig4242').write_text('client-key-data: secret')\n"
    "print(tmp, oct(tmp.stat().st_mode & 0o777), flush=True)\n"
    "if sys.argv[1] == 'wait':\n"
    "    time.sleep(60)\n"
    "sys.exit(int(sys.argv[1]) if sys.argv[1] != 'wait' else 0)\n"
)


def wrapped(tmp_path: Path, *arguments: str, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [str(WRAPPER), sys.executable, "-c", LEAVE_A_KUBECONFIG, *arguments],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
        **options,
    )


def test_the_command_gets_a_private_tmpdir_that_is_gone_after_it_with_its_exit_status(tmp_path):
    run = wrapped(tmp_path, "3")
    out, _ = run.communicate(timeout=30)
    private, mode = out.split()
    assert run.returncode == 3
    assert Path(private).parent == tmp_path and Path(private) != tmp_path
    assert mode == oct(stat.S_IRWXU)
    assert not Path(private).exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("stop", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_a_kill_removes_it_once_the_command_has_stopped(tmp_path, stop, status):
    run = wrapped(tmp_path, "wait", start_new_session=True)
    private = Path(run.stdout.readline().split()[0])
    assert (private / "kubeconfig4242").exists()
    os.killpg(run.pid, stop)
    run.wait(timeout=30)
    assert run.returncode == status
    deadline = time.time() + 5
    while private.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not private.exists()


def test_make_runs_pulumi_up_preview_and_destroy_through_it():
    for target, verb in (("up", "up"), ("preview", "preview"), ("destroy", "destroy")):
        dry = subprocess.run(
            ["make", "-n", target, "STACK=s", "PULUMI=pulumi"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        lines = [line for line in dry.stdout.splitlines() if f"pulumi {verb} --stack s" in line]
        assert lines and all(line.startswith("tools/private-tmpdir.sh pulumi ") for line in lines), dry.stdout
