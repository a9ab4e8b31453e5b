"""components/scripts/, run with stand-in commands (docker, kubeadm, kubectl) that log what they get."""

import subprocess
import time

from components.shell import SCRIPTS


def stand_ins(tmp_path, commands: dict[str, str]):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in commands.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}


def run(script, env, *arguments, stdin="", root=None):
    text = (SCRIPTS / script).read_text()
    if root:  # the node-side scripts write below /etc; point them at a scratch root
        text = text.replace("/etc/", f"{root}/etc/")
    return subprocess.run(
        ["/bin/sh", "-c", text, script, *arguments], input=stdin, env=env, capture_output=True, text=True, timeout=30
    )


def test_kubeadm_init_deletes_every_bootstrap_token_it_minted(tmp_path):
    log = tmp_path / "log"
    listing = "TOKEN TTL USAGES\\nabcdef.0123456789abcdef 23h authentication\\nghijkl.0123456789abcdef 23h x"
    env = stand_ins(
        tmp_path,
        {
            "kubeadm": f'echo "kubeadm $*" >> {log}; [ "$1 $2" = "token list" ] && printf "{listing}\\n"; exit 0',
            "kubectl": f'echo "kubectl $*" >> {log}',
        },
    )
    result = run("kubeadm-init.sh", env, "cp", stdin="kind: InitConfiguration\n", root=tmp_path)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert "kubeadm token delete abcdef.0123456789abcdef" in calls
    assert "kubeadm token delete ghijkl.0123456789abcdef" in calls
    assert (tmp_path / "etc/kindling/kubeadm.yaml").read_text() == "kind: InitConfiguration\n"


def test_kubeadm_init_fails_when_it_cannot_list_the_tokens_to_delete(tmp_path):
    env = stand_ins(tmp_path, {"kubeadm": '[ "$1 $2" = "token list" ] && exit 1; exit 0', "kubectl": "exit 0"})
    result = run("kubeadm-init.sh", env, "cp", stdin="x", root=tmp_path)
    assert result.returncode != 0
    assert "cannot list kubeadm's bootstrap tokens" in result.stderr


def test_wait_for_systemd_gives_up_after_seconds_not_passes(tmp_path):
    # Each docker exec here takes 2 s: a pass counter would wait 6 s for a 3 s limit.
    env = stand_ins(
        tmp_path, {"docker": '[ "$1" = exec ] && { sleep 2; echo starting; }; [ "$1" = inspect ] && echo true; exit 0'}
    )
    started = time.monotonic()
    result = run("wait-for-systemd.sh", env, "node-1", "3")
    assert result.returncode == 1
    assert "did not finish booting within 3s (state: starting)" in result.stderr
    assert time.monotonic() - started < 5.5


def test_wait_for_systemd_accepts_degraded_and_names_the_failed_units(tmp_path):
    env = stand_ins(
        tmp_path,
        {"docker": 'case "$*" in *is-system-running*) echo degraded;; *--failed*) echo "foo.service failed";; esac'},
    )
    result = run("wait-for-systemd.sh", env, "node-1", "10")
    assert result.returncode == 0 and result.stdout.strip() == "degraded"
    assert "foo.service failed" in result.stderr
