"""What an old tree needs to build with this machine's newer Go: checked before compiling, applied at link."""

from __future__ import annotations

from pathlib import Path

from bundle import gotool
from bundle.errors import BuildError
from kindling.sources import GoSource
from kindling.versions import parse_release

# The oldest reflect2 that works with the Go this builder uses (kindling/sources/facts.py REFLECT2).
REFLECT2_MODULE, REFLECT2_WORKING = "github.com/modern-go/reflect2", "v1.0.2"


def check_new_go_fixes(go: gotool.Go, tree: Path, what: str) -> None:
    """Refuse, before a long compile, a tree that would build into a binary that crashes under this Go."""
    selected = go.selected_version(tree, REFLECT2_MODULE)
    if selected and parse_release(selected) < parse_release(REFLECT2_WORKING):
        raise BuildError(
            what,
            [
                f"its build list selects {REFLECT2_MODULE} {selected}, which crashes under go{go.version}",
                f"add the REFLECT2 fix to its facts in kindling/sources/ ({REFLECT2_WORKING})",
            ],
        )


def with_fixes(source: GoSource, ldflags: str) -> str:
    """``ldflags`` plus the linker flags the source facts' fixes add."""
    return " ".join([ldflags, *source.ldflags]).strip()
