"""Go releases and module sources from the Go module proxy, and `go` runs old releases accept.

The proxy serves every Go release as the module ``golang.org/toolchain``; the
module cache keeps its files read-only and without exec bits, so each release is
copied once into the builder's cache and made runnable there.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bundle.errors import BuildError
from kindling.versions import parse_release

GO_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_go_env(name: str) -> str:
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()


def module_proxy() -> str:
    """The first proxy of the machine's GOPROXY: old Go releases take only one, and `direct` cannot work offline."""
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


@dataclass(frozen=True)
class Go:
    """One Go release, runnable from the builder's cache."""

    version: str
    root: Path
    cache: Path  # the builder's cache root: GOCACHE lives below it, per Go release

    @property
    def minor(self) -> tuple[int, int]:
        parts = [int(p) for p in self.version.split(".")[:2]]
        return parts[0], parts[1]

    def env(self, cgo: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
        """An environment the release accepts: no GOFLAGS it does not know, one proxy, no checksum database.

        The checksum database is unreachable here; module zips come from the proxy and their hashes are
        recorded in each module's go.sum where upstream committed one.
        """
        gopath = host_go_env("GOPATH").split(os.pathsep)[0]
        env = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/root"),
            "GOROOT": self.root.as_posix(),
            "GOPATH": gopath,
            "GOMODCACHE": host_go_env("GOMODCACHE"),
            "GOCACHE": (self.cache / "gocache" / f"go{self.version}").as_posix(),
            "GOENV": "off",
            "GOTOOLCHAIN": "local",
            "GO111MODULE": "on",
            "GOPROXY": module_proxy(),
            "GOSUMDB": "off",
            "GOWORK": "off",  # Kubernetes' go.work joins its staging directories, absent from the module zip
            "GOFLAGS": "-mod=mod" if self.minor >= (1, 14) else "",
            "CGO_ENABLED": "1" if cgo else "0",
        }
        return {**env, **(extra or {})}

    def run(self, args: list[str], cwd: Path, log: Path, what: str, cgo: bool = False, env: dict | None = None) -> str:
        return run_logged(["go", *args], cwd, log, what, self.env(cgo, env))


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


def go_release(version: str, cache: Path) -> Go:
    """Go ``version`` (e.g. 1.15 or 1.24.6) from the module proxy, made runnable under ``cache``."""
    parse_release(version if version.count(".") == 2 else f"{version}.0")  # refuses anything but a Go release
    arch = GO_ARCHITECTURES.get(platform.machine(), platform.machine())
    root = cache / "go" / f"go{version}"
    if (root / "bin" / "go").is_file():
        return Go(version, root, cache)
    module_dir, _ = download_module("golang.org/toolchain", f"v0.0.1-go{version}.linux-{arch}")
    partial = root.with_name(root.name + ".partial")
    writable_copy(module_dir, partial)
    for executables in (partial / "bin", partial / "pkg" / "tool" / f"linux_{arch}"):
        for path in executables.iterdir():
            path.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    return Go(version, root, cache)
