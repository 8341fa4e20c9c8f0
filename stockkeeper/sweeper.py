"""Background loop that gives expired holds' units back to stock."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from .cancellation import stop_if_cancelled
from .errors import StockUnavailable
from .keeper import StockKeeper
from .keys import parent_of

log = logging.getLogger(__name__)


async def sweep_once(keeper: StockKeeper) -> int:
    """Expire every overdue hold of every offer and bucket, finish moves of units between
    buckets that a failed process left, bring buckets' states in line with their offer's,
    and record new holds a stopped process left unrecorded (recorder.py); returns the units
    given back by expired holds."""
    buckets = await keeper.offer_ids()
    results = await asyncio.gather(*(keeper.expire_due(bucket) for bucket in buckets))
    hot_offers = {parent_of(bucket) for bucket in buckets if "." in bucket}
    await asyncio.gather(*(keeper.repair_buckets(offer_id) for offer_id in hot_offers))
    recorded = sum(await asyncio.gather(*(keeper.record_left_over(b) for b in buckets)))
    if recorded:
        log.info("Recorded %d new holds in their buyers' orders that a process left", recorded)
    return sum(result.units_returned for result in results)


async def run_sweeper(keeper: StockKeeper) -> None:
    """Sweep forever. Safe to run in every process: each hold is released exactly once."""
    interval = keeper.settings.sweep_interval_s
    while True:
        stop_if_cancelled()
        try:
            returned = await sweep_once(keeper)
            if returned:
                log.info("Expired holds gave %d units back to stock", returned)
        except asyncio.CancelledError:
            raise
        except (StockUnavailable, RedisError, OSError) as exc:
            log.warning("Hold sweeper cannot reach Redis (%s); retrying", exc)
            await asyncio.sleep(1.0)
        except Exception:
            log.exception("Hold sweeper failed; retrying")
            await asyncio.sleep(1.0)
        await asyncio.sleep(interval)
