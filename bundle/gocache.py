"""Keep the shared Go build cache within a size: least recently used entries go first.

One Go builds every release, so one build cache serves them all, and a release's
second build, or the next release's, reuses what an earlier one compiled. Left
alone it grows by gigabytes per Kubernetes release. Go marks an entry it uses by
its modification time (at most once an hour), and a missing entry is only a cache
miss for a build that starts later; a build that is running, though, fails when an
entry it has looked up disappears. So a trim waits for no build: it runs only when
no other bundle build holds the cache, and never removes an entry used in the last
hours, which a build of some other tool on the same cache may still be reading.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

DEFAULT_LIMIT_GB = 20.0
RECENT_SECONDS = 3 * 3600  # Go refreshes an entry's time once an hour; a build may run for two


def limit_bytes() -> int:
    """``KINDLING_GOCACHE_LIMIT_GB`` (default 20); 0 keeps everything."""
    return int(float(os.environ.get("KINDLING_GOCACHE_LIMIT_GB", DEFAULT_LIMIT_GB)) * 1024**3)


@contextlib.contextmanager
def in_use(caches: Path) -> Iterator[None]:
    """Hold the build caches under ``caches`` for a build: trims wait until no build holds them."""
    caches.mkdir(parents=True, exist_ok=True)
    with (caches / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield


def trim_unless_in_use(caches: Path, cache: Path, limit: int) -> tuple[int, int] | None:
    """``trim`` when no bundle build holds the caches; None when one does (the next build trims)."""
    caches.mkdir(parents=True, exist_ok=True)
    with (caches / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        return trim(cache, limit)


def trim(cache: Path, limit: int, now: float | None = None) -> tuple[int, int]:
    """Delete the least recently used entries of ``cache`` until it holds at most 80% of ``limit``,
    sparing every entry used in the last RECENT_SECONDS.

    Returns (bytes before, bytes after). Only entries in the two-hex-digit subdirectories are
    touched; Go's own bookkeeping files stay."""
    recent = (time.time() if now is None else now) - RECENT_SECONDS
    entries = []
    for directory in cache.glob("[0-9a-f][0-9a-f]"):
        for entry in directory.iterdir():
            stat = entry.stat()
            entries.append((stat.st_mtime, stat.st_size, entry))
    before = sum(size for _, size, _ in entries)
    if limit <= 0 or before <= limit:
        return before, before
    after = before
    for mtime, size, entry in sorted(entries, key=lambda item: item[0]):
        if after <= limit * 0.8 or mtime > recent:
            break
        entry.unlink(missing_ok=True)
        after -= size
    return before, after
