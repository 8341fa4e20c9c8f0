"""How a server process sets itself up and runs: uvloop, the garbage collector, signals.

Shared by the ``livesale`` commands and the benchmarks, which measure a process set up the
same way; it imports nothing else of the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
from collections.abc import Coroutine
from typing import Any

import uvloop

log = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The event loop every server process runs on (uvloop)."""
    return uvloop.new_event_loop()


def tune_gc() -> None:
    """Make the cyclic garbage collector nearly free for a server process.

    Every request allocates a few dozen tracked objects, so at Python's default threshold
    (700) a rush triggers hundreds of collections a second, and each full collection walks
    the ~70,000 objects of the imported code again. Measured under the reservation storm,
    that was 4-8% of the process's CPU. Objects that exist before serving starts are frozen
    (never scanned again), and young objects are collected every 20,000 allocations instead:
    refcounting frees almost everything a request makes, so little waits for the collector.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


#: The most open files asked for when the hard limit is unlimited (macOS reports it so, and
#: refuses a soft limit that large).
UNLIMITED_CAP = 1_048_576


def raise_open_files(wanted: int | None = None) -> int:
    """Let this process (and the processes it starts) hold ``wanted`` open files, or as many
    as its hard limit allows when ``wanted`` is None; the soft limit it ends with.

    Every viewer is a socket: a common default soft limit of 1,024, or a hard limit of
    20,000, caps a process's viewers well below what it can serve. Raising the soft limit
    up to the hard one needs no privilege; raising the hard one needs root (or
    CAP_SYS_RESOURCE) and is tried only when ``wanted`` asks for more. Never fails: a
    limit it may not change is kept, and said.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = UNLIMITED_CAP if hard == resource.RLIM_INFINITY else hard
    target = ceiling if wanted is None else wanted
    if target > ceiling:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
            return target
        except (ValueError, OSError):
            log.warning(
                "Can hold at most %d open files (wanted %d): raise the hard limit "
                "(ulimit -Hn, LimitNOFILE= in systemd) for more viewers per process",
                ceiling,
                target,
            )
            target = ceiling
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError) as exc:
            log.warning("Could not raise the open-files limit to %d (%s)", target, exc)
    return soft


def run_until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop until it returns or SIGINT/SIGTERM cancels it.

    A signal cancels the main task, so its ``finally`` blocks close what it opened; the
    process then exits normally (status 0), as a supervisor expects of a requested stop.
    """
    with (
        asyncio.Runner(loop_factory=new_event_loop) as runner,
        contextlib.suppress(asyncio.CancelledError),
    ):
        runner.run(_cancelled_by_signals(main))


async def _cancelled_by_signals(main: Coroutine[Any, Any, None]) -> None:
    task = asyncio.current_task()
    assert task is not None  # always true inside Runner.run
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    await main
