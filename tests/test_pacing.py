"""pacing.py: the SDK's spinning wait pauses instead of keeping a core busy."""

import asyncio
import time

import pacing


def run(coroutine):
    """On a loop of its own: asyncio.run would leave the thread without the loop Pulumi's tests use."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def test_a_zero_sleep_right_after_another_pauses_and_an_ordinary_one_does_not():
    async def two_turns():
        pacing._last_zero_sleep = 0.0
        started = time.monotonic()
        await pacing._paced_sleep(0)
        first = time.monotonic() - started
        await pacing._paced_sleep(0)
        return first, time.monotonic() - started - first

    first, second = run(two_turns())
    assert first < pacing.PAUSE, "an event loop turn after a while is a plain yield"
    assert second >= pacing.PAUSE, "a spin pauses"


def test_spinning_for_a_second_costs_little_cpu():
    async def spin(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await pacing._paced_sleep(0)

    cpu = time.process_time()
    run(spin(0.5))
    assert time.process_time() - cpu < 0.25, "a bare asyncio.sleep(0) loop burns the whole half second"
