"""Keep the shared Go build cache within a size: least recently used entries go first.

One Go builds every release, so one build cache serves them all, and a release's
second build, or the next release's, reuses what an earlier one compiled. Left
alone it grows by gigabytes per Kubernetes release. Go marks an entry it uses by
its modification time (at most once an hour), and a missing entry is only a cache
miss, so trimming the oldest entries first loses the least.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_LIMIT_GB = 20.0


def limit_bytes() -> int:
    """``KINDLING_GOCACHE_LIMIT_GB`` (default 20); 0 keeps everything."""
    return int(float(os.environ.get("KINDLING_GOCACHE_LIMIT_GB", DEFAULT_LIMIT_GB)) * 1024**3)


def trim(cache: Path, limit: int) -> tuple[int, int]:
    """Delete the least recently used entries of ``cache`` until it holds at most 80% of ``limit``.

    Returns (bytes before, bytes after). Only entries in the two-hex-digit subdirectories are
    touched; Go's own bookkeeping files stay."""
    entries = []
    for directory in cache.glob("[0-9a-f][0-9a-f]"):
        for entry in directory.iterdir():
            stat = entry.stat()
            entries.append((stat.st_mtime, stat.st_size, entry))
    before = sum(size for _, size, _ in entries)
    if limit <= 0 or before <= limit:
        return before, before
    after = before
    for _, size, entry in sorted(entries, key=lambda item: item[0]):
        if after <= limit * 0.8:
            break
        entry.unlink(missing_ok=True)
        after -= size
    return before, after
