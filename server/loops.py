"""The one shape of every background loop of the service: a step, again and again, until
cancelled. A Redis outage costs a warning and the next turn; a bug is logged with its
traceback and the loop goes on. Each turn checks for a cancellation swallowed inside a
Redis command (stockkeeper/cancellation.py), or a shutdown could wait for ever."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from stockkeeper.cancellation import stop_if_cancelled

log = logging.getLogger(__name__)

#: Failures a loop expects while Redis (or the network) is away: a warning, not a traceback.
OUTAGES: tuple[type[BaseException], ...] = (RedisError, OSError)


async def every(
    what: str,
    step: Callable[[], Awaitable[object]],
    period_s: float,
    expected: tuple[type[BaseException], ...] = OUTAGES,
) -> None:
    """Run ``step`` every ``period_s`` (from the start of one turn to the next) until
    cancelled; ``what`` names the loop in the log."""
    while True:
        stop_if_cancelled()
        started = time.monotonic()
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except expected as exc:
            log.warning("%s: %s; trying again", what, exc)
        except Exception:
            log.exception("%s failed a turn; trying again", what)
        await asyncio.sleep(max(0.0, period_s - (time.monotonic() - started)))
