"""Killing `pulumi up` and what follows, for drills 1 and 7: the kill at a step, `make recover`, and what of a
cluster no resource owns afterwards."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.throwaway import ROOT

STEP_SECONDS = 1200


def up_command(name: str, work: Path, verbose: bool = False) -> list[str]:
    command = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", name]
    command += ["--policy-pack", str(work / "policies")]
    return command + (["--verbose", "9", "--logtostderr"] if verbose else [])


def up_killed_at(marker: str, delay: float, name: str, work: Path, env: dict, log: Path) -> str:
    """Runs `up` until ``marker`` appears in its output, then SIGKILLs it; returns what happened."""
    with log.open("a") as sink:
        sink.write(f"\n$ {' '.join(up_command(name, work))}  # killed {delay}s after: {marker}\n")
        sink.flush()
        start = log.stat().st_size
        process = subprocess.Popen(up_command(name, work), cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STEP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            with log.open() as reading:
                reading.seek(start)
                if marker in reading.read():
                    break
            time.sleep(0.5)
        if process.poll() is not None:
            return f"up ended (exit {process.returncode}) before {marker!r}"
        time.sleep(delay)
        if process.poll() is not None:
            return f"up ended (exit {process.returncode}) within {delay}s of {marker!r}"
        process.send_signal(signal.SIGKILL)
        process.wait()
    return ""


def recover(name: str, work: Path, env: dict, log: Path) -> bool:
    with log.open("a") as sink:
        sink.write(f"\n$ python tools/recover.py {name}\n")
        sink.flush()
        done = subprocess.run(
            [sys.executable, "tools/recover.py", name], cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    return done.returncode == 0


def strays_of(name: str, work: Path, env: dict) -> list:
    """The cluster's Docker objects no resource of the state owns (tools/recover.py's own view)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import recover

    exported = subprocess.run(
        ["pulumi", "stack", "export", "--stack", name], cwd=work, env=env, capture_output=True, text=True
    )
    state = json.loads(exported.stdout).get("deployment", {}) if exported.returncode == 0 else {}
    return recover.strays(name, recover.owned_ids(state))
