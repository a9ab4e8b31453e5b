"""components/scripts/, run with stand-in commands (docker, kubeadm, kubectl) that log what they get."""

import subprocess
import time

from components.shell import NODE_LIBRARY_VARIABLE, NODE_SCRIPT_VARIABLE, SCRIPTS

# What the join Commands give the host-side join scripts: the node-side script, and its library to read first.
NODE_SIDE = {NODE_LIBRARY_VARIABLE: "library, ", NODE_SCRIPT_VARIABLE: "node side"}


def stand_ins(tmp_path, commands: dict[str, str]):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in commands.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}


def run(script, env, *arguments, stdin="", root=None, library=()):
    # As a Command runs it: its library's scripts (components/shell.py's carried) read ahead of it.
    text = "".join((SCRIPTS / name).read_text() for name in (*library, script))
    if root:  # the node-side scripts write below /etc and run the node image's scripts; point them at a scratch root
        text = text.replace("/etc/", f"{root}/etc/").replace("/usr/local/lib/kindling/", f"{root}/lib/")
    return subprocess.run(
        ["/bin/sh", "-c", text, script, *arguments], input=stdin, env=env, capture_output=True, text=True, timeout=30
    )


def node_image_script(root, name, log):
    """A stand-in for one of the node image's /usr/local/lib/kindling scripts, logging its arguments."""
    path = root / "lib" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
    path.chmod(0o755)


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
    node_image_script(tmp_path, "service-ips.sh", log)
    result = run("kubeadm-init.sh", env, "cp", "10.96.0.0/12", stdin="kind: InitConfiguration\n", root=tmp_path)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert "kubeadm token delete abcdef" in calls
    assert "kubeadm token delete ghijkl" in calls
    assert not [call for call in calls if "0123456789abcdef" in call], "a token's secret half on a command line"
    assert (tmp_path / "etc/kindling/kubeadm.yaml").read_text() == "kind: InitConfiguration\n"
    assert calls[0] == "service-ips.sh 10.96.0.0/12", "Service addresses are guarded before any pod runs"


def test_kubeadm_init_on_a_prebuilt_image_without_the_service_ips_script(tmp_path):
    env = stand_ins(tmp_path, {"kubeadm": "exit 0", "kubectl": "exit 0"})
    result = run("kubeadm-init.sh", env, "cp", "10.96.0.0/12", "node-role.kubernetes.io/master", root=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_node_joins_with_its_service_ips_guarded_first(tmp_path):
    log = tmp_path / "log"
    env = stand_ins(tmp_path, {"kubeadm": f'echo "kubeadm $*" >> {log}'})
    node_image_script(tmp_path, "service-ips.sh", log)
    result = run("kubeadm-join-node.sh", env, "10.100.0.0/16", stdin="kind: JoinConfiguration\n", root=tmp_path)
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [
        "service-ips.sh 10.100.0.0/16",
        f"kubeadm join --config {tmp_path}/etc/kindling/kubeadm-join.yaml --skip-phases=preflight",
    ]
    assert not (tmp_path / "etc/kindling/kubeadm-join.yaml").exists(), "the join configuration goes"


def test_kubeadm_init_fails_when_it_cannot_list_the_tokens_to_delete(tmp_path):
    env = stand_ins(tmp_path, {"kubeadm": '[ "$1 $2" = "token list" ] && exit 1; exit 0', "kubectl": "exit 0"})
    result = run("kubeadm-init.sh", env, "cp", "10.96.0.0/12", stdin="x", root=tmp_path)
    assert result.returncode != 0
    assert "cannot list kubeadm's bootstrap tokens" in result.stderr


def test_wait_for_systemd_gives_up_after_seconds_not_passes(tmp_path):
    # Each docker exec here takes 2 s: a pass counter would wait 6 s for a 3 s limit.
    env = stand_ins(
        tmp_path, {"docker": '[ "$1" = exec ] && { sleep 2; echo starting; }; [ "$1" = inspect ] && echo true; exit 0'}
    )
    started = time.monotonic()
    result = run("wait-for-systemd.sh", env, "container", "node-1", "3")
    assert result.returncode == 1
    assert "did not finish booting within 3s (state: starting)" in result.stderr
    assert time.monotonic() - started < 5.5


def test_wait_for_systemd_accepts_degraded_and_names_the_failed_units(tmp_path):
    env = stand_ins(
        tmp_path,
        {"docker": 'case "$*" in *is-system-running*) echo degraded;; *--failed*) echo "foo.service failed";; esac'},
    )
    result = run("wait-for-systemd.sh", env, "container", "node-1", "10")
    assert result.returncode == 0 and result.stdout.strip() == "degraded"
    assert "foo.service failed" in result.stderr


def test_wait_for_systemd_stops_at_once_when_the_node_container_stopped_and_shows_its_logs(tmp_path):
    docker = 'case "$1" in exec) echo starting;; inspect) echo false;; logs) shift; echo "docker logs $*";; esac'
    env = stand_ins(tmp_path, {"docker": docker})
    started = time.monotonic()
    result = run("wait-for-systemd.sh", env, "container", "node-1", "10")
    assert result.returncode == 1 and time.monotonic() - started < 5
    assert "node container node-1 is not running; its last log lines:" in result.stderr
    assert result.stderr.endswith("docker logs --tail 40 node-1\n")


def test_wait_for_systemd_refuses_a_runtime_it_does_not_know(tmp_path):
    result = run("wait-for-systemd.sh", stand_ins(tmp_path, {"docker": "exit 0"}), "vm", "node-1", "10")
    assert result.returncode == 2 and "usage: wait-for-systemd.sh container|machine NODE TIMEOUT" in result.stderr


def test_a_worker_joins_with_a_token_minted_then_and_deleted_even_when_the_join_fails(tmp_path):
    log = tmp_path / "log"
    join = "kubeadm join 10.0.0.2:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:feed"
    env = stand_ins(
        tmp_path,
        {
            "docker": f'echo "docker $*" >> {log}; case "$*" in *"token create"*) echo "{join}";; '
            f"*kubeadm-join-node*) cat > {tmp_path}/joined; exit 3;; esac",
        },
    )
    env.update(NODE_SIDE)
    stdin = "token: '@KINDLING_JOIN_TOKEN@'\ncaCertHashes: ['@KINDLING_CA_CERT_HASH@']\n"
    result = run("kubeadm-join.sh", env, "cp", "worker-1", "10.96.0.0/12", stdin=stdin)
    assert result.returncode == 3, "the join's failure is the step's"
    assert (tmp_path / "joined").read_text() == ("token: 'abcdef.0123456789abcdef'\ncaCertHashes: ['sha256:feed']\n"), (
        "the placeholders are filled on the host, never stored"
    )
    calls = log.read_text().splitlines()
    assert "docker exec cp kubeadm token create --ttl 15m --print-join-command" in calls
    assert "docker exec -i worker-1 /bin/sh -c library, node side kubeadm-join-node 10.96.0.0/12" in calls
    assert calls[-1] == "docker exec cp kubeadm token delete abcdef"
    assert not [call for call in calls if "0123456789abcdef" in call], "a token's secret half on a command line"


def join_stand_ins(tmp_path, log, ready: str, kubelet_conf: bool):
    join = "kubeadm join 10.0.0.2:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:feed"
    return stand_ins(
        tmp_path,
        {
            "docker": f'echo "docker $*" >> {log}; case "$*" in *"get node"*) printf "{ready}";; '
            f"*kubelet.conf*) exit {0 if kubelet_conf else 1};; "
            f'*"token create"*) echo "{join}";; *kubeadm-join-node*) cat > /dev/null;; esac',
        },
    )


def test_a_worker_an_interrupted_up_already_joined_is_left_as_it_is(tmp_path):
    log = tmp_path / "log"
    env = join_stand_ins(tmp_path, log, ready="True", kubelet_conf=True)
    env.update(NODE_SIDE)
    result = run("kubeadm-join.sh", env, "cp", "worker-1", "10.96.0.0/12", stdin="x")
    assert result.returncode == 0 and "worker-1 has already joined the cluster" in result.stderr
    calls = log.read_text()
    assert "token create" not in calls and "delete node" not in calls and "kubeadm-join-node" not in calls


def test_a_worker_whose_join_an_interrupted_up_cut_short_is_removed_from_the_cluster_then_joined(tmp_path):
    # Registered (Ready, even) but without its kubelet configuration, or registered and not Ready:
    # kubeadm would refuse the name while the cluster holds it as Ready.
    for ready, kubelet_conf in (("True", False), ("False", True), ("", False)):
        log = tmp_path / f"log-{ready}-{kubelet_conf}"
        env = join_stand_ins(tmp_path / f"bin-{ready}-{kubelet_conf}", log, ready=ready, kubelet_conf=kubelet_conf)
        env.update(NODE_SIDE)
        result = run("kubeadm-join.sh", env, "cp", "worker-1", "10.96.0.0/12", stdin="x")
        assert result.returncode == 0, result.stderr
        calls = log.read_text().splitlines()
        deleted = calls.index(
            "docker exec cp kubectl --kubeconfig /etc/kubernetes/admin.conf delete node worker-1 --ignore-not-found"
        )
        joined = next(i for i, call in enumerate(calls) if "kubeadm-join-node" in call)
        assert deleted < joined


def test_control_plane_ready_waits_for_readyz_and_says_why_not(tmp_path):
    counter = tmp_path / "asked"
    env = stand_ins(tmp_path, {"kubectl": f'echo x >> {counter}; [ "$(wc -l < {counter})" -ge 3 ]'})
    result = run("control-plane-ready.sh", env, "20")
    assert result.returncode == 0 and result.stdout.strip() == "ready"
    assert len(counter.read_text().splitlines()) == 3
    never = stand_ins(tmp_path / "never", {"kubectl": 'case "$*" in *verbose*) echo "[-]etcd failed";; esac; exit 1'})
    result = run("control-plane-ready.sh", never, "1")
    assert result.returncode == 1 and "[-]etcd failed" in result.stderr


def test_node_versions_reports_each_tool_and_what_is_missing(tmp_path):
    env = stand_ins(
        tmp_path,
        {
            "kubelet": "echo Kubernetes v1.19.1",
            "kubeadm": "echo v1.19.1",
            "containerd": "echo containerd github.com/containerd/containerd v1.4.0 09814d4",
            "runc": 'printf "runc version 1.0.0-rc92\\nspec: 1.0.2-dev\\n"',
            "helm": "echo v3.4.0+g7090a89",
        },
    )
    lines = run("node-versions.sh", env).stdout.splitlines()
    assert "runc runc version 1.0.0-rc92" in lines, "first lines only"
    assert "crictl not installed" in lines


KEY = "3f" * 32


def control_plane_stand_ins(tmp_path, log, join_exit=0, upload=f"[upload-certs] Using certificate key:\\n{KEY}"):
    join = "kubeadm join lb:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:feed"
    return stand_ins(
        tmp_path,
        {
            "docker": f'echo "docker $*" >> {log}; case "$*" in *"token create"*) echo "{join}";; '
            f'*upload-certs*) printf "{upload}\\n";; '
            '*"get secret kubeadm-certs"*) echo bootstrap-token-ghijkl;; '
            '*"get node"*) echo "node-role.kubernetes.io/master other";; '
            f"*kubeadm-join-node*) cat > {tmp_path}/joined; exit {join_exit};; esac",
        },
    )


def test_a_control_plane_joins_with_a_token_and_a_certificate_key_minted_then_and_all_deleted_after(tmp_path):
    log = tmp_path / "log"
    env = control_plane_stand_ins(tmp_path, log)
    env.update(NODE_SIDE)
    stdin = "token: '@KINDLING_JOIN_TOKEN@'\nhash: '@KINDLING_CA_CERT_HASH@'\nkey: '@KINDLING_CERTIFICATE_KEY@'\n"
    result = run(
        "kubeadm-join-control-plane.sh",
        env,
        "cp",
        "cp-2",
        "10.96.0.0/12",
        "node-role.kubernetes.io/master",
        stdin=stdin,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "joined").read_text() == (
        f"token: 'abcdef.0123456789abcdef'\nhash: 'sha256:feed'\nkey: '{KEY}'\n"
    ), "the placeholders are filled on the host, never stored"
    assert KEY not in result.stdout + result.stderr and "abcdef.0123456789abcdef" not in result.stdout + result.stderr
    assert KEY not in log.read_text(), "the key is on no docker command line"
    assert "0123456789abcdef" not in log.read_text(), "nor the token's secret half"
    calls = log.read_text().splitlines()
    upload = "docker exec cp kubeadm init phase upload-certs --upload-certs --config /etc/kindling/kubeadm.yaml"
    assert calls.index("docker exec cp kubeadm token create --ttl 15m --print-join-command") < calls.index(upload)
    joined = next(i for i, call in enumerate(calls) if "kubeadm-join-node" in call)
    assert calls[joined] == "docker exec -i cp-2 /bin/sh -c library, node side kubeadm-join-node 10.96.0.0/12"
    after = calls[joined + 1 :]
    assert "docker exec cp kubeadm token delete abcdef" in after
    assert any("delete secret kubeadm-certs" in call for call in after), "the uploaded certificates go"
    assert "docker exec cp kubeadm token delete ghijkl" in after, "and the token that owns them"
    assert after[-1] == (
        "docker exec cp kubectl --kubeconfig /etc/kubernetes/admin.conf taint node cp-2 "
        "node-role.kubernetes.io/master:NoSchedule-"
    )


def test_a_failed_control_plane_join_still_deletes_its_credentials_and_removes_no_taint(tmp_path):
    log = tmp_path / "log"
    env = control_plane_stand_ins(tmp_path, log, join_exit=4)
    env.update(NODE_SIDE)
    result = run(
        "kubeadm-join-control-plane.sh", env, "cp", "cp-2", "10.96.0.0/12", "node-role.kubernetes.io/master", stdin="x"
    )
    assert result.returncode == 4, "the join's failure is the step's"
    calls = log.read_text().splitlines()
    assert "docker exec cp kubeadm token delete abcdef" in calls
    assert "docker exec cp kubeadm token delete ghijkl" in calls
    assert not any(" taint " in call for call in calls)


def test_a_control_plane_without_an_uploaded_key_does_not_join(tmp_path):
    log = tmp_path / "log"
    env = control_plane_stand_ins(tmp_path, log, upload="error: etcd unreachable")
    env.update(NODE_SIDE)
    result = run("kubeadm-join-control-plane.sh", env, "cp", "cp-2", "10.96.0.0/12", stdin="x")
    assert result.returncode == 1
    assert "did not upload the cluster's certificates for cp-2" in result.stderr
    assert not (tmp_path / "joined").exists()
    assert "docker exec cp kubeadm token delete abcdef" in log.read_text().splitlines()
