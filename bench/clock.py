"""How long an action took, on the host's wall clock, which the nodes' containers share: an action may
return the instant it was really done (a pod's answer, tests/e2e/checks.py's answered_at), which the
bench then times up to, rather than up to the moment it came back."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(action: Callable[[], object]) -> float | None:
    """Seconds from now until ``action`` was done: the instant it returns (a float, seconds since the epoch),
    else the moment it comes back; None if it returned something false (it failed)."""
    started = time.time()
    result = action()
    if not result:
        return None
    done = result if isinstance(result, float) else time.time()
    return done - started
