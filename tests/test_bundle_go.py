"""One Go: bundles build with this machine's Go (or the one approved newer release), never a downloaded old one."""

import re
import shutil

import pytest

from bundle import gotool
from bundle.errors import BuildError
from kindling import sources
from tests.support import ROOT

TABLES = {
    "kubernetes": {v: k.source for v, k in sources.KUBERNETES.items()},
    "containerd": sources.CONTAINERD,
    "runc": sources.RUNC,
    "cni-plugins": sources.CNI_PLUGINS,
    "crictl": sources.CRICTL,
    "helm": sources.HELM,
    "etcd": sources.ETCD,
    "coredns": sources.COREDNS,
    "flannel": sources.FLANNEL,
}


def test_every_source_builds_with_this_machines_go_or_the_approved_newer_release():
    for component, table in TABLES.items():
        for version, source in table.items():
            assert source.go in (sources.LOCAL_GO, sources.APPROVED_NEWER_GO), (component, version, source.go)
            assert re.fullmatch(r"1\.\d+(\.\d+)?", source.upstream_go), (component, version, source.upstream_go)


def test_another_go_release_is_refused_before_anything_runs():
    assert gotool.toolchain_setting(sources.LOCAL_GO) == "local"
    assert gotool.toolchain_setting(sources.APPROVED_NEWER_GO) == f"go{sources.APPROVED_NEWER_GO}"
    with pytest.raises(BuildError, match="never another release"):
        gotool.toolchain_setting("1.15.15")


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_a_module_asking_for_a_newer_go_fails_instead_of_downloading_one(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/newer\n\ngo 1.99\n")
    go = gotool.Go(gotool.toolchain_setting(sources.LOCAL_GO), tmp_path / "cache")
    assert go.env(cgo=False)["GOTOOLCHAIN"] == "local"
    with pytest.raises(BuildError) as refused:
        go.run(["list", "-m"], tmp_path, tmp_path / "log", "a module asking for go 1.99")
    assert "GOTOOLCHAIN=local" in "\n".join(refused.value.details)
    assert not (tmp_path / "cache" / "go").exists()


def test_no_build_script_fetches_a_go_release():
    scripts = [*(ROOT / "bundle").glob("*.py"), *(ROOT / ".ci").iterdir(), ROOT / "Makefile"]
    for script in scripts:
        assert "golang.org/toolchain" not in script.read_text(), script
    toolchain = (ROOT / ".ci" / "pulumi-toolchain.sh").read_text()
    assert "export GOTOOLCHAIN=local" in toolchain


def test_the_shared_build_cache_loses_its_least_recently_used_entries_first(tmp_path):
    import os

    from bundle import gocache

    hours = 3600
    now = 100 * hours
    ages = {"aa/old-a": 50, "aa/old-d": 40, "bb/recent-a": 2, "cc/newest-d": 0}  # hours since last use
    for name, age in ages.items():
        entry = tmp_path / name
        entry.parent.mkdir(exist_ok=True)
        entry.write_bytes(b"x" * 1000)
        os.utime(entry, (now - age * hours, now - age * hours))
    (tmp_path / "README").write_text("Go's own file")
    assert gocache.trim(tmp_path, limit=1000, now=now) == (4000, 2000), "entries used in the last hours stay"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["README", "newest-d", "recent-a"]
    assert gocache.trim(tmp_path, limit=0, now=now) == (2000, 2000), "0 keeps everything"


def test_no_trim_runs_while_another_bundle_build_holds_the_cache(tmp_path):
    import os

    from bundle import gocache

    cache = tmp_path / "go1.26.8"
    (cache / "aa").mkdir(parents=True)
    (cache / "aa" / "old-a").write_bytes(b"x" * 1000)
    os.utime(cache / "aa" / "old-a", (0, 0))
    with gocache.in_use(tmp_path):
        assert gocache.trim_unless_in_use(tmp_path, cache, limit=10) is None
        assert (cache / "aa" / "old-a").exists()
    assert gocache.trim_unless_in_use(tmp_path, cache, limit=10) == (1000, 0)
