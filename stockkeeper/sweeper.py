"""Background loop that gives expired holds' units back to stock."""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError

from .cancellation import stop_if_cancelled
from .errors import StockUnavailable
from .keeper import StockKeeper
from .keys import parent_of

log = logging.getLogger(__name__)


#: How often the sweeper looks for new holds a stopped process left unrecorded: a walk over
#: every offer's records stream, so far less often than the holds' deadlines.
RECORDS_EVERY_S = 5.0


async def sweep_once(keeper: StockKeeper, records: bool = True) -> int:
    """Expire every overdue hold of every offer and bucket, finish moves of units between
    buckets that a failed process left, bring buckets' states in line with their offer's,
    and (with ``records``) record new holds a stopped process left unrecorded (recorder.py);
    returns the units given back by expired holds."""
    buckets = await keeper.offer_ids()
    results = await asyncio.gather(*(keeper.expire_due(bucket) for bucket in buckets))
    hot_offers = {parent_of(bucket) for bucket in buckets if "." in bucket}
    await asyncio.gather(*(keeper.repair_buckets(offer_id) for offer_id in hot_offers))
    recorded = 0
    if records:
        recorded = sum(await asyncio.gather(*(keeper.record_left_over(b) for b in buckets)))
    if recorded:
        log.info("Recorded %d new holds in their buyers' orders that a process left", recorded)
    return sum(result.units_returned for result in results)


async def run_sweeper(keeper: StockKeeper) -> None:
    """Sweep forever. Safe to run in every process: each hold is released exactly once."""
    interval = keeper.settings.sweep_interval_s
    records_at = 0.0
    while True:
        stop_if_cancelled()
        try:
            records = time.monotonic() >= records_at
            if records:
                records_at = time.monotonic() + RECORDS_EVERY_S
            returned = await sweep_once(keeper, records)
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
