"""A pause in the Python SDK's wait for outstanding work, so the program does not keep a core busy.

The SDK waits for outputs still being resolved by looping on ``asyncio.sleep(0)``; while a
Command runs for a minute (kubeadm init, an image build) that loop spins, and on a 2-core host it
takes a core from docker and kubeadm (40 CPU-seconds of a 71 s up, measured). Here a zero sleep
that follows another within a millisecond (the loop spinning, not the event loop's ordinary
turns) becomes a 5 ms sleep: outputs are noticed within 5 ms, and the core is free.
"""

from __future__ import annotations

import asyncio
import time
import types
from typing import Any

from pulumi.runtime import settings
from pulumi.runtime import stack as runtime_stack
from pulumi.runtime.mocks import MockMonitor

SPINNING = 0.001  # seconds between two zero sleeps that mean the loop found nothing to do
PAUSE = 0.005

_last_zero_sleep = 0.0


async def _paced_sleep(delay: float = 0, result: Any = None) -> Any:
    global _last_zero_sleep
    if delay == 0:
        now = time.monotonic()
        if now - _last_zero_sleep < SPINNING:
            delay = PAUSE
        _last_zero_sleep = now
    return await asyncio.sleep(delay, result)


def pace_the_sdk() -> None:
    """Give the SDK's stack module a sleep that pauses when it spins (not under the test mocks,
    whose RPCs return at once and would only be slowed)."""
    if isinstance(settings.get_monitor(), MockMonitor):
        return
    paced = {name: getattr(asyncio, name) for name in dir(asyncio) if not name.startswith("_")}
    runtime_stack.asyncio = types.SimpleNamespace(**{**paced, "sleep": _paced_sleep})
