"""The builder's cache: Go releases, scratch source trees, logs and finished components.

Everything lives outside the repository (``~/.cache/kindling/bundle`` by default,
``KINDLING_BUNDLE_CACHE`` to move it). A component's output is kept under a key
made of everything that shapes it, so a warm rebuild reuses it and a changed
fact rebuilds only what it touches.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bundle import gotool
from bundle.plan import Step
from kindling.sources import GoSource

# Bump when a recipe changes what it produces, so cached outputs are rebuilt.
RECIPE_REVISION = "2"


def default_cache() -> Path:
    configured = os.environ.get("KINDLING_BUNDLE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kindling" / "bundle"


@dataclass
class Workspace:
    cache: Path
    _gos: dict[str, gotool.Go] = field(default_factory=dict, repr=False)

    def go(self, builder_go: str) -> gotool.Go:
        """The go command a source fact's ``go`` names (one per setting, so its version is asked once)."""
        setting = gotool.toolchain_setting(builder_go)
        return self._gos.setdefault(setting, gotool.Go(setting, self.cache))

    @property
    def build_caches(self) -> Path:
        """Where each Go release's build cache lives (gotool.Go.build_cache), shared by every component."""
        return self.cache / "gocache"

    def gos(self) -> list[gotool.Go]:
        """The go commands this build has used."""
        return list(self._gos.values())

    def log(self, step: Step) -> Path:
        return self.cache / "logs" / f"{step.component}-{step.version}.log"

    def scratch(self, step: Step, name: str = "src") -> Path:
        return self.cache / "scratch" / f"{step.component}-{step.version}" / name

    def step_key(self, step: Step) -> str:
        facts = {
            "revision": RECIPE_REVISION,
            "component": step.component,
            "version": step.version,
            "source": _shaping(step.source) if step.source else None,
            "go": self.go(step.source.go).version if step.source else None,
            "pause_tree": step.pause_tree,
        }
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]

    def output(self, step: Step) -> Path:
        return self.cache / "out" / f"{step.component}-{step.version}-{self.step_key(step)}"

    def finished(self, step: Step) -> dict[str, Path] | None:
        """The files a previous build of this exact step left, or None."""
        marker = self.output(step) / "files.json"
        if not marker.is_file():
            return None
        names = json.loads(marker.read_text())
        return {name: self.output(step) / name for name in names}

    def build_seconds(self, step: Step) -> float | None:
        """How long the build that made this step's cached output took."""
        record = self.output(step) / "built.json"
        return json.loads(record.read_text())["seconds"] if record.is_file() else None

    def finish(self, step: Step, partial: Path, files: list[str], seconds: float) -> dict[str, Path]:
        """Publish a step's output atomically: a failed build never looks finished."""
        (partial / "built.json").write_text(json.dumps({"seconds": round(seconds)}))
        (partial / "files.json").write_text(json.dumps(sorted(files)))
        target = self.output(step)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        shutil.rmtree(self.scratch(step).parent, ignore_errors=True)
        return {name: target / name for name in files}


def _shaping(source: GoSource) -> dict:
    """What of a source fact shapes the build: not where a fact comes from, nor why a fix is there, nor
    upstream's Go unless it writes the go line of a go.mod the module lacks."""
    facts = asdict(source)
    facts.pop("evidence")
    if not source.requires:
        facts.pop("upstream_go")
    facts["fixes"] = [(fix["replace"], fix["ldflag"]) for fix in facts["fixes"]]
    return facts
