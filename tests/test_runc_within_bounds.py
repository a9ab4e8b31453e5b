"""node-image's runc-within-bounds, run with a stand-in runc and a node's real capability masks.

containerd before 1.5 asks runc for every capability the kernel knows when it starts a
privileged container; on a node without CAP_SYS_RESOURCE (hosts that refuse --privileged)
kube-proxy and flannel then never start ("apply caps: operation not permitted").
"""

import json
import shutil
import subprocess

import pytest

from tests.support import ROOT

SCRIPT = ROOT / "node-image" / "files" / "usr" / "local" / "lib" / "kindling" / "runc-within-bounds"
# CapBnd of a node in capabilities mode on such a host (bit 24, CAP_SYS_RESOURCE, missing), and of a full one.
WITHOUT_SYS_RESOURCE = "000001fffeffffff"
EVERY_CAPABILITY = "000001ffffffffff"
ALL_REQUESTED = ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_CHECKPOINT_RESTORE"]

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("capsh") is None,
    reason="needs jq and capsh (apt-get install jq libcap2-bin), as the node image has",
)


def run(tmp_path, mask, *arguments):
    status = tmp_path / "status"
    status.write_text(f"Name:\tcontainerd-shim\nCapBnd:\t{mask}\n")
    runc_log = tmp_path / "runc-arguments"
    runc = tmp_path / "runc"
    runc.write_text(f'#!/bin/sh\necho "$@" > "{runc_log}"\n')
    runc.chmod(0o755)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "RUNC": str(runc), "PROC_STATUS": str(status)}
    subprocess.run(["/bin/sh", str(SCRIPT), *arguments], env=env, check=True, cwd=tmp_path)
    return runc_log.read_text().split()


def bundle(tmp_path):
    directory = tmp_path / "bundle"
    directory.mkdir()
    sets = {name: list(ALL_REQUESTED) for name in ("bounding", "effective", "inheritable", "permitted", "ambient")}
    (directory / "config.json").write_text(json.dumps({"process": {"args": ["sh"], "capabilities": sets}}))
    return directory


def test_create_hands_runc_only_the_nodes_capabilities(tmp_path):
    directory = bundle(tmp_path)
    arguments = ["--root", "/run/containerd/runc/k8s.io", "--log", "log.json", "create", "--bundle", str(directory),
                 "--pid-file", "pid", "kube-proxy"]  # fmt: skip
    assert run(tmp_path, WITHOUT_SYS_RESOURCE, *arguments) == arguments, "runc gets the same arguments"
    capabilities = json.loads((directory / "config.json").read_text())["process"]["capabilities"]
    expected = [c for c in ALL_REQUESTED if c != "CAP_SYS_RESOURCE"]
    assert capabilities == {name: expected for name in capabilities}
    assert json.loads((directory / "config.json").read_text())["process"]["args"] == ["sh"]


def test_a_node_with_every_capability_is_left_alone(tmp_path):
    directory = bundle(tmp_path)
    run(tmp_path, EVERY_CAPABILITY, "run", "-b", str(directory), "id")
    capabilities = json.loads((directory / "config.json").read_text())["process"]["capabilities"]
    assert all(value == ALL_REQUESTED for value in capabilities.values())


def test_exec_trims_the_process_file(tmp_path):
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["iptables"], "capabilities": {"bounding": ALL_REQUESTED}}))
    run(tmp_path, WITHOUT_SYS_RESOURCE, "exec", "--process", str(process), "--detach", "kube-proxy")
    assert "CAP_SYS_RESOURCE" not in json.loads(process.read_text())["capabilities"]["bounding"]


def test_other_commands_pass_straight_through(tmp_path):
    directory = bundle(tmp_path)
    before = (directory / "config.json").read_text()
    assert run(tmp_path, WITHOUT_SYS_RESOURCE, "--root", "/r", "delete", "--force", "kube-proxy")[-1] == "kube-proxy"
    assert (directory / "config.json").read_text() == before
