"""Stopping long-running loops reliably.

On Python 3.11, ``asyncio.wait_for`` can swallow a cancellation that arrives just as the
awaited work completes, and redis-py wraps every command it sends in ``wait_for`` when a
socket timeout is set. A loop cancelled at that moment would run on, and whoever awaits
it (a shutdown, a test) would wait for ever. Every loop that must stop when cancelled
checks here on each turn, so a cancellation request is honoured even if it was swallowed.
"""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Raise CancelledError when the current task has been asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
