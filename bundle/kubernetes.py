"""Kubernetes from the k8s.io/kubernetes module, built the way its release tooling builds it.

The module zip differs from the repository in three ways this recipe undoes:
its ``vendor/`` holds only modules.txt, the staging repositories are separate
modules (so ``./staging/src/...`` replaces must point at their published
versions), and generated OpenAPI code, which the repository ignores, is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from bundle import gotool
from bundle.errors import BuildError
from bundle.fixes import check_new_go_fixes
from bundle.gomod import add_replaces, required_version
from bundle.plan import Step, staging_version
from bundle.workspace import Workspace
from kindling.sources import GoSource

BINARIES = (
    "kubeadm",
    "kubelet",
    "kubectl",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
)
_STAGING = re.compile(r"^(\s*)(k8s\.io/[\w.-]+) => \./staging/src/k8s\.io/[\w.-]+\s*$", re.MULTILINE)
_TAG_LINE = re.compile(r"^// *\+k8s:", re.MULTILINE)
# Generated for the OpenAPI document; upstream never generates these two.
_OPENAPI_SKIP = ("k8s.io/code-generator", "k8s.io/sample-apiserver")


def point_staging_at_modules(go_mod: str, release: str) -> str:
    """Replace every ``k8s.io/X => ./staging/src/k8s.io/X`` with that module's published version."""
    version = staging_version(release)
    rewritten, count = _STAGING.subn(lambda m: f"{m.group(1)}{m.group(2)} => {m.group(2)} {version}", go_mod)
    if count == 0:
        raise ValueError("go.mod has no ./staging replaces; is this k8s.io/kubernetes?")
    return rewritten


def static_binaries(golang_sh: str) -> set[str]:
    """The binaries hack/lib/golang.sh builds with CGO_ENABLED=0 (the rest use cgo)."""
    match = re.search(r"KUBE_STATIC_(?:LIBRARIES|BINARIES)=\(([^)]*)\)", golang_sh)
    if not match:
        raise ValueError("hack/lib/golang.sh names no static binaries")
    return set(match.group(1).split())


def version_ldflags(release: str, commit: str, build_date: str) -> str:
    minor = release.split(".")[1]
    values = {
        "gitVersion": f"v{release}",
        "gitMajor": "1",
        "gitMinor": minor,
        "gitCommit": commit,
        "gitTreeState": "clean",
        "buildDate": build_date,
    }
    flags = [
        f"-X {package}.{key}={value}"
        for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for key, value in values.items()
    ]
    return " ".join(["-s", "-w", *flags])


def openapi_tagged_packages(trees: dict[str, Path]) -> list[str]:
    """Import paths of the packages that ask for OpenAPI definitions (``+k8s:openapi-gen=``).

    ``trees`` maps a module path to its source directory, as hack/update-codegen.sh scans the
    repository and its staging modules.
    """
    found = set()
    for module, root in trees.items():
        if module in _OPENAPI_SKIP:
            continue
        for path in root.rglob("*.go"):
            relative = path.relative_to(root)
            if relative.parts[0] in ("vendor", "staging", "_output") or path.name.endswith("_test.go"):
                continue
            text = path.read_text(errors="replace")
            if "+k8s:openapi-gen=" in text and _TAG_LINE.search(text):
                directory = relative.parent.as_posix()
                found.add(module if directory == "." else f"{module}/{directory}")
    return sorted(found)


def _generate_openapi(go: gotool.Go, tree: Path, source: GoSource, log: Path, what: str) -> None:
    go_mod = (tree / "go.mod").read_text()
    tool = tree / "_output" / "openapi-gen"
    go.run(
        ["build", *generators_modfile(tree, source), "-o", str(tool), "k8s.io/kube-openapi/cmd/openapi-gen"],
        tree,
        log,
        what,
    )
    staging = set(re.findall(r"^\s*(k8s\.io/[\w.-]+) => \1 v0\.", go_mod, re.MULTILINE))
    graph = go.run(["list", "-m", "-f", "{{.Path}}", "all"], tree, log, what).split()
    used = sorted(staging.intersection(graph))  # the sample modules are replaced but never required
    go.run(["mod", "download", *used], tree, log, what)
    listing = go.run(["list", "-m", "-f", "{{.Path}} {{.Dir}}", *used], tree, log, what)
    trees = {"k8s.io/kubernetes": tree}
    for line in listing.splitlines():
        module, _, directory = line.partition(" ")
        if directory:
            trees[module] = Path(directory)
    packages = openapi_tagged_packages(trees)
    header = tree / "hack" / "boilerplate" / "boilerplate.generatego.txt"
    report = tree / "_output" / "api_violations.report"
    output_pkg = "k8s.io/kubernetes/pkg/generated/openapi"
    usage = subprocess.run([str(tool), "--help"], capture_output=True, text=True, env=go.env(False), check=False)
    if re.search(r"--output-file\s", usage.stdout + usage.stderr):  # not the older --output-file-base
        arguments = [
            "--go-header-file",
            str(header),
            "--output-file",
            "zz_generated.openapi.go",
            "--output-dir",
            "pkg/generated/openapi",
            "--output-pkg",
            output_pkg,
            "--report-filename",
            str(report),
            *packages,
        ]
        gotool.run_logged([str(tool), *arguments], tree, log, what, go.env(False))
        return
    # Older openapi-gen writes below an output base, as GOPATH/src would be laid out.
    base = tree / "_output" / "openapi-base"
    arguments = [
        "--logtostderr",
        "-i",
        ",".join(packages),
        "-p",
        output_pkg,
        "-O",
        "zz_generated.openapi",
        "-h",
        str(header),
        "-r",
        str(report),
        "-o",
        str(base),
    ]
    gotool.run_logged([str(tool), *arguments], tree, log, what, go.env(False))
    generated = base / output_pkg / "zz_generated.openapi.go"
    target = tree / "pkg" / "generated" / "openapi" / "zz_generated.openapi.go"
    target.write_bytes(generated.read_bytes())


def generators_modfile(tree: Path, source: GoSource) -> list[str]:
    """``-modfile`` of a go.mod for the generators alone, where the source's fixes give them one."""
    if not source.generator_replaces:
        return []
    modfile = tree / "_output" / "generators.mod"
    modfile.parent.mkdir(parents=True, exist_ok=True)
    modfile.write_text(add_replaces((tree / "go.mod").read_text(), source.generator_replaces))
    if (tree / "go.sum").exists():
        shutil.copyfile(tree / "go.sum", modfile.with_suffix(".sum"))
    return [f"-modfile={modfile}"]


def build(workspace: Workspace, step: Step, out: Path) -> list[str]:
    source = step.source
    what = f"kubernetes {step.version} ({source.module}@{source.version})"
    log = workspace.log(step)
    module_dir, info = gotool.download_module(source.module, source.version)
    origin = info.get("Origin", {}).get("Hash")
    if origin and origin != source.commit:
        raise BuildError(
            what, [f"the proxy says {source.version} is commit {origin}, the catalog says {source.commit}"]
        )
    tree = gotool.writable_copy(module_dir, workspace.scratch(step))
    go = workspace.go(source.go)
    shutil.rmtree(tree / "vendor", ignore_errors=True)  # only modules.txt: the sources come from the proxy
    go_mod = point_staging_at_modules((tree / "go.mod").read_text(), step.version)
    (tree / "go.mod").write_text(add_replaces(go_mod, source.replaces))
    check_new_go_fixes(go, tree, what)
    if required_version(go_mod, "k8s.io/kube-openapi") is None:
        raise BuildError(what, ["go.mod does not pin k8s.io/kube-openapi; cannot generate OpenAPI definitions"])
    _generate_openapi(go, tree, source, log, what)

    statics = static_binaries((tree / "hack" / "lib" / "golang.sh").read_text())
    ldflags = " ".join([version_ldflags(step.version, source.commit, info.get("Time", "")), *source.ldflags])
    for binary in BINARIES:
        cgo = binary not in statics
        go.run(["build", "-o", str(out / binary), "-ldflags", ldflags, f"./cmd/{binary}"], tree, log, what, cgo=cgo)
    reported = gotool.run_logged([str(out / "kubeadm"), "version", "-o", "short"], tree, log, what).strip()
    if reported != f"v{step.version}":
        raise BuildError(what, [f"kubeadm reports {reported!r}, expected v{step.version}"])
    return list(BINARIES)


def build_pause(workspace: Workspace, step: Step, out: Path) -> list[str]:
    """pause is a few lines of C, compiled static as build/pause/Makefile does."""
    what = f"pause {step.version} (k8s.io/kubernetes@{step.pause_tree} build/pause)"
    module_dir, _ = gotool.download_module("k8s.io/kubernetes", step.pause_tree)
    pause_dir = module_dir / "build" / "pause"
    source = pause_dir / "linux" / "pause.c" if (pause_dir / "linux").is_dir() else pause_dir / "pause.c"
    makefile = (pause_dir / "Makefile").read_text()
    tag = re.search(r"^TAG \??= *(\S+)", makefile, re.MULTILINE)
    if not tag or tag.group(1) != step.version:
        raise BuildError(what, [f"build/pause/Makefile has TAG {tag.group(1) if tag else '?'}, not {step.version}"])
    command = ["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{step.version}", "-o", str(out / "pause")]
    gotool.run_logged([*command, str(source)], pause_dir, workspace.log(step), what)
    return ["pause"]
