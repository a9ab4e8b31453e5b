"""The Go that builds a bundle, module sources from the Go module proxy, and logged runs.

Every component is built with this machine's Go (``GOTOOLCHAIN=local``), or, where a
module's go.mod asks for a newer Go than the machine has, with the one newer release
approved for these machines (``APPROVED_NEWER_GO``), which the go command fetches
itself. No other Go release is ever downloaded: old trees are made to build with a
new Go by the fixes recorded next to each release in ``kindling/sources/``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bundle.errors import BuildError
from kindling.sources import APPROVED_NEWER_GO, LOCAL_GO

GO_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_go_env(name: str) -> str:
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()


def module_proxy() -> str:
    """The first proxy of the machine's GOPROXY: `direct` cannot work offline, and a build must not fall back to it."""
    configured = os.environ.get("GOPROXY") or host_go_env("GOPROXY")
    first = configured.split(",")[0].split("|")[0]
    return first if first not in ("", "direct", "off") else "https://proxy.golang.org"


def _host_go(args: list[str], what: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GO111MODULE": "on", "GOPROXY": module_proxy()}
    result = subprocess.run(["go", *args], capture_output=True, text=True, env=env, cwd="/", check=False)
    if result.returncode != 0:
        raise BuildError(what, result.stderr.strip().splitlines()[-1:] or ["go failed"])
    return result


def download_module(module: str, version: str) -> tuple[Path, dict]:
    """The module's extracted (read-only) directory in the module cache, and the proxy's .info for it."""
    result = _host_go(["mod", "download", "-json", f"{module}@{version}"], f"module {module}@{version}")
    found = json.loads(result.stdout)
    if found.get("Error"):
        raise BuildError(f"module {module}@{version}", [found["Error"]])
    info = json.loads(Path(found["Info"]).read_text()) if found.get("Info") else {}
    return Path(found["Dir"]), info


def writable_copy(source: Path, destination: Path) -> Path:
    """A scratch copy of a module directory that a build may edit."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, destination, symlinks=True)
    for path in [destination, *destination.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    return destination


def toolchain_setting(builder_go: str) -> str:
    """The GOTOOLCHAIN value for a source fact's ``go``: the machine's Go, or the one approved newer release."""
    if builder_go == LOCAL_GO:
        return "local"
    if builder_go == APPROVED_NEWER_GO:
        return f"go{APPROVED_NEWER_GO}"
    raise BuildError(
        f"Go {builder_go}",
        [f"a bundle builds with this machine's Go ({LOCAL_GO!r}) or go{APPROVED_NEWER_GO}, never another release"],
    )


@dataclass(frozen=True)
class Go:
    """The go command under one GOTOOLCHAIN setting, with the builder's shared build cache."""

    toolchain: str  # "local" or "go1.27.3"
    cache: Path  # the builder's cache root: one GOCACHE per Go release, shared by every component

    @functools.cached_property
    def version(self) -> str:
        """The release that actually runs, e.g. ``1.26.8`` (what the manifest and binaries report)."""
        env = {**os.environ, "GOTOOLCHAIN": self.toolchain, "GOPROXY": module_proxy(), "GOENV": "off"}
        result = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise BuildError(f"Go ({self.toolchain})", result.stderr.strip().splitlines()[-3:])
        return result.stdout.strip().removeprefix("go")

    @property
    def build_cache(self) -> Path:
        return self.cache / "gocache" / f"go{self.version}"

    def env(self, cgo: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
        """One proxy, no checksum database (unreachable here; go.sum files hold the hashes), no workspace."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/root"),
            "GOPATH": host_go_env("GOPATH").split(os.pathsep)[0],
            "GOMODCACHE": host_go_env("GOMODCACHE"),
            "GOCACHE": self.build_cache.as_posix(),
            "GOENV": "off",
            "GOTOOLCHAIN": self.toolchain,
            "GO111MODULE": "on",
            "GOPROXY": module_proxy(),
            "GOSUMDB": "off",
            "GOWORK": "off",  # Kubernetes' go.work joins its staging directories, absent from the module zip
            "GOFLAGS": "-mod=mod",
            "CGO_ENABLED": "1" if cgo else "0",
        }
        return {**env, **(extra or {})}

    def run(self, args: list[str], cwd: Path, log: Path, what: str, cgo: bool = False, env: dict | None = None) -> str:
        return run_logged(["go", *args], cwd, log, what, self.env(cgo, env))

    def selected_version(self, tree: Path, module: str) -> str | None:
        """The version of ``module`` the build list of ``tree`` selects (after replaces); None if it is unused."""
        template = "{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}"
        listed = subprocess.run(
            ["go", "list", "-m", "-f", template, module], cwd=tree, env=self.env(False), capture_output=True, text=True
        )
        return listed.stdout.strip() or None if listed.returncode == 0 else None


def run_logged(command: list[str], cwd: Path, log: Path, what: str, env: dict[str, str] | None = None) -> str:
    """Run ``command``, appending its output to ``log``; a failure names ``what`` and the log's last lines."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as sink:
        sink.write(f"\n$ (cd {cwd}) {' '.join(command)}\n")
        sink.flush()
        result = subprocess.run(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
        sink.write(result.stdout)
    if result.returncode != 0:
        raise BuildError(what, [*result.stdout.strip().splitlines()[-15:], f"(full log: {log})"])
    return result.stdout
