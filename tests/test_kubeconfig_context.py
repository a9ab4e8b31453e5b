"""make kubeconfig MERGE=1 and make destroy: the cluster as a context of ~/.kube/config, named after its stack
(tools/kubeconfig_context.py)."""

from __future__ import annotations

import stat

import pytest
import yaml

from tests.pulumi_harness import FAKE_ADMIN_CONF
from tools.kubeconfig_context import main

STACK = "k8s-1-19-1"
THEIRS = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "prod", "cluster": {"server": "https://prod:6443"}}],
    "users": [{"name": "me", "user": {"token": "t"}}],
    "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "me"}}],
    "current-context": "prod",
}


@pytest.fixture
def files(tmp_path):
    source, target = tmp_path / "kubeconfig", tmp_path / "home" / ".kube" / "config"
    source.write_text(yaml.safe_dump(FAKE_ADMIN_CONF))
    return source, target


def test_merge_adds_the_stack_as_the_current_context_beside_what_was_there(files):
    source, target = files
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(THEIRS))
    assert main(["merge", STACK, str(source), str(target)]) == 0
    merged = yaml.safe_load(target.read_text())
    assert merged["current-context"] == STACK
    assert [c["name"] for c in merged["contexts"]] == ["prod", STACK]
    (context,) = [c["context"] for c in merged["contexts"] if c["name"] == STACK]
    assert (context["cluster"], context["user"]) == (STACK, STACK)
    (cluster,) = [c["cluster"] for c in merged["clusters"] if c["name"] == STACK]
    assert cluster["server"] == FAKE_ADMIN_CONF["clusters"][0]["cluster"]["server"]
    (user,) = [u["user"] for u in merged["users"] if u["name"] == STACK]
    assert user["client-key-data"] == FAKE_ADMIN_CONF["users"][0]["user"]["client-key-data"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600, "it holds credentials"
    assert main(["merge", STACK, str(source), str(target)]) == 0
    assert yaml.safe_load(target.read_text()) == merged, "merging again replaces the stack's entries"


def test_destroy_removes_exactly_what_merge_added(files):
    source, target = files
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(THEIRS))
    main(["merge", STACK, str(source), str(target)])
    assert main(["remove", STACK, str(target)]) == 0
    assert yaml.safe_load(target.read_text()) == {**THEIRS, "current-context": ""}


def test_merge_creates_the_file_and_remove_leaves_one_without_it_alone(files):
    source, target = files
    assert main(["remove", STACK, str(target)]) == 0 and not target.exists()
    assert main(["merge", STACK, str(source), str(target)]) == 0
    assert yaml.safe_load(target.read_text())["contexts"][0]["name"] == STACK


def test_an_entry_of_the_same_name_kindling_did_not_write_is_never_touched(files, capsys):
    source, target = files
    target.parent.mkdir(parents=True)
    mine = {**THEIRS, "contexts": [*THEIRS["contexts"], {"name": STACK, "context": {"cluster": "prod", "user": "me"}}]}
    target.write_text(yaml.safe_dump(mine))
    with pytest.raises(SystemExit, match=f"already has a context named {STACK} that kindling did not write"):
        main(["merge", STACK, str(source), str(target)])
    assert main(["remove", STACK, str(target)]) == 0
    assert yaml.safe_load(target.read_text()) == mine
    assert f"the context {STACK} was not written by kindling; left in place" in capsys.readouterr().out
