"""``asyncio.wait_for`` that never loses a cancellation, in place of Python 3.11's.

Python 3.11's ``wait_for`` answers a cancellation that arrives in the same moment as the
awaited result with the result: the task goes on as if never cancelled (CPython
gh-86296; 3.12 rebuilt ``wait_for`` on ``asyncio.timeout``). redis-py writes every command
through ``wait_for`` when a socket timeout is set, so about half of the cancellations that
reached a task while it sent a command were lost (measured: 2,140 of 4,000 pings cancelled
at random moments went on). A lost cancellation keeps a background loop running after the
app asked it to stop (its stop then waits for ever: a test hung 120 s in CI so), and makes
an ``asyncio.timeout`` around a Redis call never fire. (aiokafka waits through a
``wait_for`` of its own, built on a timeout.)

The stock keeper's package puts this one in place when it is imported on Python 3.11
(server/ and the benchmarks import it); callers look ``asyncio.wait_for`` up when they
call it, as redis-py does.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


# The parameter keeps asyncio's name: callers may pass it by keyword.
async def wait_for(fut: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109
    """``fut``'s result, or ``TimeoutError`` after ``timeout`` seconds (as in Python 3.12)."""
    if timeout is None:
        return await fut
    if timeout <= 0:
        task = asyncio.ensure_future(fut)
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.wait([task])
        try:
            return task.result()
        except asyncio.CancelledError as exc:
            raise TimeoutError from exc
    async with asyncio.timeout(timeout):
        return await fut


def use_in_asyncio() -> None:
    """Put ``wait_for`` in asyncio's place where asyncio's own loses cancellations."""
    if sys.version_info < (3, 12):
        # Both names: callers look up ``asyncio.wait_for``, asyncio's own code the other.
        asyncio.wait_for = wait_for  # type: ignore[assignment]
        asyncio.tasks.wait_for = wait_for  # type: ignore[assignment]
