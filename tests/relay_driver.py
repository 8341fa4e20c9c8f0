"""Runs the real outbox relay and kills it with SIGKILL at an exact point of its work.

``python -m tests.relay_driver NAME KILL_AT AFTER`` relays like ``livesale relay --name NAME``
(settings from the ``LIVESALE_*`` environment) and, once AFTER batches went through whole,
kills its own process at KILL_AT in the next batch:

- ``before_send``: the batch is read from the outbox, no transaction begun;
- ``before_commit``: inside the transaction, every message acknowledged, not committed;
- ``before_ack``: committed, the outbox not yet acknowledged.

The production code has no hook for this: the driver wraps the relay's own methods.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.redis_client import connect
from stockkeeper.relay import OutboxRelay
from stockkeeper.relay.transactions import RelayTransactions
from stockkeeper.settings import StockSettings

POINTS = {
    "before_send": (RelayTransactions, "send"),
    "before_commit": (RelayTransactions, "commit"),
    "before_ack": (OutboxRelay, "_acknowledge"),
}

T = TypeVar("T")


def kill_at(point: str, after: int) -> None:
    """Make the process die with SIGKILL on call number ``after + 1`` of ``point``."""
    owner, method = POINTS[point]
    original: Callable[..., Awaitable[Any]] = getattr(owner, method)
    calls = 0

    async def wrapped(self: object, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > after:
            print(f"relay_driver: SIGKILL at {point}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return await original(self, *args)

    setattr(owner, method, wrapped)


async def relay(name: str) -> None:
    """Relay until killed."""
    settings = StockSettings.from_env()
    redis = connect(settings.redis_url)
    try:
        await OutboxRelay(redis, settings, name).run()
    finally:
        await redis.aclose()


def main() -> None:
    """Parse NAME KILL_AT AFTER and relay until the kill."""
    name, point, after = sys.argv[1:4]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    kill_at(point, int(after))
    asyncio.run(relay(name))


if __name__ == "__main__":
    main()
