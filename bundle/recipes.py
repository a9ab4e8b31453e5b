"""How each component is built from its module, following its own Makefile or release script.

Each recipe takes a plan step, builds in a scratch copy of the module with the Go
release the step names, writes its files into ``out`` and returns their names.
Version stamps are upstream's (``-X`` flags from the source facts), so every
binary reports exactly the version the catalog names.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from bundle import gotool, kubernetes
from bundle.errors import BuildError
from bundle.fixes import check_new_go_fixes, with_fixes
from bundle.gomod import add_replaces, drop_local_replaces, module_file
from bundle.plan import Step
from bundle.workspace import Workspace
from kindling import sources


def _what(step: Step) -> str:
    source = step.source
    return f"{step.label} ({source.module}@{source.version})"


def _prepare(
    workspace: Workspace, step: Step, module: str | None = None, name: str = "src", version: str | None = None
) -> tuple[Path, dict]:
    """A writable copy of the step's module (or of ``module``, at the same version unless told), go.mod fixed up."""
    source = step.source
    module_dir, info = gotool.download_module(module or source.module, version or source.version)
    tree = gotool.writable_copy(module_dir, workspace.scratch(step, name))
    shutil.rmtree(tree / "vendor", ignore_errors=True)  # module zips carry no vendored sources
    go_mod = tree / "go.mod"
    if source.requires:
        go_mod.write_text(module_file(source.module, source.upstream_go, source.requires, source.replaces))
    elif go_mod.is_file():
        go_mod.write_text(add_replaces(drop_local_replaces(go_mod.read_text()), source.replaces))
    else:
        raise BuildError(_what(step), ["the module has no go.mod and the source facts give no requires for it"])
    check_new_go_fixes(workspace.go(source.go), tree, _what(step))
    return tree, info


def _check_version(binary: Path, args: list[str], expected: str, step: Step) -> None:
    output = gotool.run_logged([str(binary), *args], binary.parent, Path("/dev/null"), _what(step))
    if expected not in output:
        raise BuildError(_what(step), [f"{binary.name} {' '.join(args)} says {output.strip()!r}; expected {expected}"])


def _make_words(makefile: str, variable: str) -> list[str]:
    """Words a Makefile gives ``variable`` unconditionally (``=``, ``?=`` and ``+=`` at column 0)."""
    words: list[str] = []
    for match in re.finditer(rf"^{variable} *(?:\?|\+|:)?= *([^$\n#]*)", makefile, re.MULTILINE):
        words += match.group(1).split()
    return words


def containerd(workspace: Workspace, step: Step, out: Path) -> list[str]:
    """``make binaries``: COMMANDS from the Makefiles; the daemons with cgo (PIE), the shims static."""
    source, what, log = step.source, _what(step), workspace.log(step)
    tree, _ = _prepare(workspace, step)
    go = workspace.go(source.go)
    makefiles = (tree / "Makefile").read_text() + "\n" + (tree / "Makefile.linux").read_text()
    package = source.module
    stamps = (
        f"-X {package}/version.Version=v{step.version} -X {package}/version.Revision={source.commit} "
        f"-X {package}/version.Package={package} -s -w"
    )
    tags = " ".join(_make_words(makefiles, "GO_BUILDTAGS"))
    shim_tags = f"{tags} no_grpc" if "SHIM_GO_BUILDTAGS := $(GO_BUILDTAGS) no_grpc" in makefiles else tags
    commands = _make_words(makefiles, "COMMANDS")
    (out / "bin").mkdir()
    for name in commands:
        target = ["-o", str(out / "bin" / name), f"./cmd/{name}"]
        if name.startswith("containerd-shim"):
            flags = ["-trimpath", "-tags", shim_tags, "-ldflags", with_fixes(source, f'{stamps} -extldflags "-static"')]
            go.run(["build", *flags, *target], tree, log, what)
        else:
            flags = ["-trimpath", "-buildmode=pie", "-tags", tags, "-ldflags", with_fixes(source, stamps)]
            go.run(["build", *flags, *target], tree, log, what, cgo=True)
    _check_version(out / "bin" / "containerd", ["--version"], f"v{step.version} {source.commit}", step)
    return [f"bin/{name}" for name in commands]


def runc(workspace: Workspace, step: Step, out: Path) -> list[str]:
    source, what, log = step.source, _what(step), workspace.log(step)
    tree, _ = _prepare(workspace, step)
    makefile = (tree / "Makefile").read_text()
    buildtags = re.search(r"^BUILDTAGS \??:?= *(.*)$", makefile, re.MULTILINE).group(1).strip()
    version = (tree / "VERSION").read_text().strip()
    ldflags = f"-w -extldflags -static -X main.gitCommit={source.commit} -X main.version={version}"
    command = ["build", "-tags", f"{buildtags} netgo osusergo", "-ldflags", with_fixes(source, ldflags)]
    command += ["-o", str(out / "runc"), "."]
    workspace.go(source.go).run(command, tree, log, what, cgo=True)
    _check_version(out / "runc", ["--version"], f"runc version {step.version}", step)
    return ["runc"]


def _cni_plugin_dirs(tree: Path) -> list[Path]:
    dirs = []
    for kind in ("meta", "main", "ipam"):
        dirs += sorted(d for d in (tree / "plugins" / kind).iterdir() if d.is_dir() and d.name != "windows")
    return [d for d in dirs if any(p.suffix == ".go" and "windows" not in p.name for p in d.iterdir())]


def cni_plugins(workspace: Workspace, step: Step, out: Path, only: tuple[str, ...] = ()) -> list[str]:
    source, what, log = step.source, _what(step), workspace.log(step)
    tree, _ = _prepare(workspace, step)
    go = workspace.go(source.go)
    stamp = f"-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v{source.version[1:]}"
    built = []
    for directory in _cni_plugin_dirs(tree):
        if only and directory.name not in only:
            continue
        target = out / directory.name
        command = [
            "build",
            "-ldflags",
            with_fixes(source, f"-extldflags -static {stamp}"),
            "-o",
            str(target),
            f"./{directory.relative_to(tree)}",
        ]
        go.run(command, tree, log, what)
        built.append(directory.name)
    if only and set(only) - set(built):
        raise BuildError(what, [f"no plugin {', '.join(sorted(set(only) - set(built)))} in this release"])
    return built


def flannel_cni(workspace: Workspace, step: Step, out: Path) -> list[str]:
    return cni_plugins(workspace, step, out, only=("flannel",))


def crictl(workspace: Workspace, step: Step, out: Path) -> list[str]:
    source, what, log = step.source, _what(step), workspace.log(step)
    tree, _ = _prepare(workspace, step)
    module = re.search(r"^module\s+(\S+)", (tree / "go.mod").read_text(), re.MULTILINE).group(1)
    ldflags = f"-s -w -X {module}/pkg/version.Version=v{step.version}"
    workspace.go(source.go).run(
        ["build", "-ldflags", with_fixes(source, ldflags), "-o", str(out / "crictl"), "./cmd/crictl"], tree, log, what
    )
    _check_version(out / "crictl", ["--version"], step.version, step)
    return ["crictl"]


def helm(workspace: Workspace, step: Step, out: Path) -> list[str]:
    """As its Makefile: version stamps, and the Kubernetes version charts see by default (client-go's)."""
    source, what, log = step.source, _what(step), workspace.log(step)
    tree, _ = _prepare(workspace, step)
    stamps = source.module + "/internal/version"  # helm.sh/helm/v3 or v4
    flags = [
        "-w -s",
        f"-X {stamps}.version=v{step.version}",
        f"-X {stamps}.metadata=",
        f"-X {stamps}.gitCommit={source.commit}",
        f"-X {stamps}.gitTreeState=clean",
    ]
    client_go = re.search(r"^\s*k8s\.io/client-go v0\.(\d+)\.", (tree / "go.mod").read_text(), re.MULTILINE)
    kubernetes_version = {"MAJOR": "1", "MINOR": client_go.group(1) if client_go else ""}
    makefile = (tree / "Makefile").read_text()
    for variable, part in re.findall(r"^LDFLAGS \+= -X (\S+)=\$\(K8S_MODULES_(MAJOR|MINOR)_VER\)", makefile, re.M):
        flags.append(f"-X {variable}={kubernetes_version[part]}")
    command = ["build", "-ldflags", with_fixes(source, " ".join(flags)), "-o", str(out / "helm"), "./cmd/helm"]
    workspace.go(source.go).run(command, tree, log, what)
    _check_version(out / "helm", ["version", "--short"], f"v{step.version}", step)
    return ["helm"]


def etcd(workspace: Workspace, step: Step, out: Path) -> list[str]:
    source, what, log = step.source, _what(step), workspace.log(step)
    go = workspace.go(source.go)
    version = step.version.split("-")[0]
    if source.module == "go.etcd.io/etcd":  # 3.4: one module, etcd at the root, etcdctl below it
        tree, _ = _prepare(workspace, step)
        stamp = f"-X go.etcd.io/etcd/version.GitSHA={source.commit}"
        mains = {"etcd": (tree, "."), "etcdctl": (tree, "./etcdctl")}
    else:  # 3.5 and later: one module per binary, siblings in the repository
        stamp = f"-X go.etcd.io/etcd/api/v3/version.GitSHA={source.commit}"
        mains = {}
        substitutes = sources.ETCD_TOOL_SUBSTITUTES.get(step.version, {})
        for binary in ("etcd", "etcdctl", "etcdutl"):
            module = "go.etcd.io/etcd/server/v3" if binary == "etcd" else f"go.etcd.io/etcd/{binary}/v3"
            instead = substitutes[binary].version if binary in substitutes else None
            tree, _ = _prepare(workspace, step, module=module, name=binary, version=instead)
            mains[binary] = (tree, ".")
    for binary, (tree, package) in mains.items():
        ldflags = with_fixes(source, f"-s -w {stamp}")
        go.run(["build", "-ldflags", ldflags, "-o", str(out / binary), package], tree, log, what)
    _check_version(out / "etcd", ["--version"], f"etcd Version: {version}", step)
    return list(mains)


def coredns(workspace: Workspace, step: Step, out: Path) -> list[str]:
    source, what, log = step.source, _what(step), workspace.log(step)
    tree, _ = _prepare(workspace, step)
    ldflags = with_fixes(source, f"-s -w -X github.com/coredns/coredns/coremain.GitCommit={source.commit}")
    workspace.go(source.go).run(["build", "-ldflags", ldflags, "-o", str(out / "coredns"), "."], tree, log, what)
    _check_version(out / "coredns", ["-version"], f"CoreDNS-{step.version.removeprefix('v')}", step)
    return ["coredns"]


def flannel(workspace: Workspace, step: Step, out: Path) -> list[str]:
    """flanneld, and the flannel Helm chart its release publishes (packaged from the same tree)."""
    source, what, log = step.source, _what(step), workspace.log(step)
    tree, _ = _prepare(workspace, step)
    # As its Makefile: cgo (the udp backend needs it), linked static.
    ldflags = f'-s -w -X github.com/flannel-io/flannel/pkg/version.Version={step.version} -extldflags "-static"'
    ldflags = with_fixes(source, ldflags)
    command = ["build", "-ldflags", ldflags, "-o", str(out / "flanneld"), "."]
    workspace.go(source.go).run(command, tree, log, what, cgo=True)
    _check_version(out / "flanneld", ["--version"], step.version, step)
    chart = tree / "chart" / "kube-flannel"
    (out / "values.yaml").write_bytes((chart / "values.yaml").read_bytes())
    with tarfile.open(out / "flannel.tgz", "w:gz") as archive:
        archive.add(chart, arcname="flannel", filter=_reproducible)
    return ["flanneld", "flannel.tgz", "values.yaml"]


def _reproducible(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    member.mtime = 0
    return member


RECIPES: dict[str, Callable[[Workspace, Step, Path], list[str]]] = {
    "kubernetes": kubernetes.build,
    "containerd": containerd,
    "runc": runc,
    "cni-plugins": cni_plugins,
    "flannel-cni": flannel_cni,
    "crictl": crictl,
    "helm": helm,
    "etcd": etcd,
    "coredns": coredns,
    "pause": kubernetes.build_pause,
    "flannel": flannel,
}
