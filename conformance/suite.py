"""The release's own conformance suite: ``e2e.test`` and the ginkgo runner it was released with.

Both come from the k8s.io/kubernetes module the release's bundle is built from, prepared the
same way (staging replaces pointed at their published modules, the release's fixes from
kindling/sources/), and built with the same Go and the bundle's shared build cache, so the
packages the bundle compiled are reused. The tree is kept next to the binaries: the suite's
test images are built from its ``test/images/``, and its conformance list is read from it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from bundle import gotool
from bundle.errors import BuildError
from bundle.fixes import check_new_go_fixes
from bundle.gomod import add_replaces, required_version
from bundle.kubernetes import point_staging_at_modules, version_ldflags
from bundle.workspace import Workspace
from bundle.workspace import default_cache as bundle_cache
from conformance.paths import release_dir
from kindling.sources import KUBERNETES

# Bump when the recipe changes what it produces.
RECIPE_REVISION = "1"
GINKGO_V1, GINKGO_V2 = "github.com/onsi/ginkgo", "github.com/onsi/ginkgo/v2"
BINDATA_OUTPUT = "test/e2e/generated/bindata.go"
BINDATA_TOOL = "github.com/go-bindata/go-bindata/go-bindata"


@dataclass(frozen=True)
class Suite:
    release: str
    e2e_test: Path
    ginkgo: Path
    ginkgo_major: int  # 1 or 2: the flags of the runner and of e2e.test differ
    tree: Path  # the prepared k8s.io/kubernetes tree (test/images, conformance.yaml)
    go: gotool.Go


def ginkgo_runner(go_mod: str) -> tuple[str, int]:
    """The ginkgo CLI package the release's go.mod pins, and its major version."""
    if required_version(go_mod, GINKGO_V2):
        return f"{GINKGO_V2}/ginkgo", 2
    if required_version(go_mod, GINKGO_V1):
        return f"{GINKGO_V1}/ginkgo", 1
    raise ValueError("go.mod pins no github.com/onsi/ginkgo")


def bindata_arguments(script: str) -> list[str]:
    """The go-bindata arguments hack/generate-bindata.sh uses for the e2e suite's embedded files.

    Releases up to 1.21 embed their manifests and test data with go-bindata; the module zip holds
    only the stub next to it, so the file is generated as upstream's script does."""
    block = script.split(f'BINDATA_OUTPUT="{BINDATA_OUTPUT}"', 1)
    if len(block) != 2:
        raise ValueError(f"hack/generate-bindata.sh does not generate {BINDATA_OUTPUT}")
    joined = re.sub(r"\\\n\s*", " ", block[1])
    command = next((line for line in joined.splitlines() if line.strip().startswith("go-bindata ")), None)
    if command is None:
        raise ValueError(f"hack/generate-bindata.sh runs no go-bindata for {BINDATA_OUTPUT}")
    words = shlex.split(command.strip())[1:]
    return [BINDATA_OUTPUT if word == "${BINDATA_OUTPUT}.tmp" else word for word in words]


def suite_key(release: str, go_version: str) -> str:
    source = KUBERNETES[release].source
    facts = {
        "revision": RECIPE_REVISION,
        "module": f"{source.module}@{source.version}",
        "go": go_version,
        "replaces": list(source.replaces),
        "ldflags": list(source.ldflags),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def build_suite(release: str, say) -> Suite:
    """Build (or reuse) the release's e2e.test and ginkgo; returns where they are."""
    if release not in KUBERNETES:
        raise BuildError(f"conformance suite {release}", ["no source facts for this release in kindling/sources/"])
    source = KUBERNETES[release].source
    what = f"conformance suite {release} ({source.module}@{source.version})"
    go = Workspace(bundle_cache()).go(source.go)
    home = release_dir(release)
    tree, out = home / "src", home / "bin"
    key = suite_key(release, go.version)
    marker = out / "built.json"
    if marker.is_file() and json.loads(marker.read_text()).get("key") == key and tree.is_dir():
        built = json.loads(marker.read_text())
        say(f"e2e.test and ginkgo {built['ginkgo']} for {release}: cached ({out})")
        return Suite(release, out / "e2e.test", out / "ginkgo", built["ginkgoMajor"], tree, go)

    log = home / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    say(f"e2e.test for {release}: preparing {source.module}@{source.version} with go{go.version} (log: {log})")
    module_dir, info = gotool.download_module(source.module, source.version)
    shutil.rmtree(out, ignore_errors=True)
    gotool.writable_copy(module_dir, tree)
    shutil.rmtree(tree / "vendor", ignore_errors=True)
    go_mod = point_staging_at_modules((tree / "go.mod").read_text(), release)
    (tree / "go.mod").write_text(add_replaces(go_mod, source.replaces))
    check_new_go_fixes(go, tree, what)
    runner, major = ginkgo_runner(go_mod)
    if (tree / "test/e2e/generated/gobindata_util.go").is_file() and not (tree / BINDATA_OUTPUT).is_file():
        say("e2e.test: generating test/e2e/generated/bindata.go with go-bindata, as hack/generate-bindata.sh does")
        tool = tree / "_output" / "go-bindata"
        _go(go, ["build", "-o", str(tool), BINDATA_TOOL], tree, log, what)
        arguments = bindata_arguments((tree / "hack" / "generate-bindata.sh").read_text())
        gotool.run_logged([str(tool), *arguments], tree, log, what, go.env(False))
        _go(go, ["fmt", f"./{Path(BINDATA_OUTPUT).parent}"], tree, log, what)

    partial = out.with_name("bin.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    ldflags = " ".join([version_ldflags(release, source.commit, info.get("Time", "")), *source.ldflags])
    say(f"e2e.test for {release}: compiling ./test/e2e (go test -c; the first build takes a while)")
    _go(go, ["test", "-c", "-o", str(partial / "e2e.test"), "-ldflags", ldflags, "./test/e2e"], tree, log, what)
    say(f"ginkgo for {release}: compiling {runner}@{required_version(go_mod, runner.removesuffix('/ginkgo'))}")
    _go(go, ["build", "-o", str(partial / "ginkgo"), runner], tree, log, what)
    version = required_version(go_mod, runner.removesuffix("/ginkgo"))
    (partial / "built.json").write_text(json.dumps({"key": key, "ginkgo": version, "ginkgoMajor": major}))
    partial.rename(out)
    return Suite(release, out / "e2e.test", out / "ginkgo", major, tree, go)


def _go(go: gotool.Go, args: list[str], tree: Path, log: Path, what: str) -> str:
    """The go command at a lower CPU priority: the cluster and other builds share two cores."""
    return gotool.run_logged(["nice", "-n", "10", "go", *args], tree, log, what, go.env(False))
