"""The coupons' background task: settles locks whose lease ran out (a payment that crashed
between its steps, checkout.py) and ends drops and rains whose window has passed."""

from __future__ import annotations

import logging
import time
from typing import cast

from redis.asyncio import Redis

from stockkeeper.errors import StockKeeperError

from ..loops import OUTAGES, every
from .checkout import Checkout, Lock
from .keys import ACTIVITIES, ActivityKeys
from .store import CouponStore

log = logging.getLogger(__name__)


async def repair_once(redis: Redis, store: CouponStore, checkout: Checkout) -> int:
    """One round over every activity: settle each lock past its lease, end what is over.
    Returns the locks settled."""
    now = int(time.time() * 1000)
    settled = 0
    for activity_id in sorted(cast(set[str], await redis.smembers(ACTIVITIES))):
        keys = ActivityKeys(activity_id)
        due = cast(list[str], await redis.zrangebyscore(keys.locks, "-inf", now, start=0, num=100))
        for token in due:
            owner = cast(str | None, await redis.hget(keys.lock_owners, token))
            if owner is None:
                await redis.zrem(keys.locks, token)
                continue
            item_id, _, hold_id = owner.partition(" ")
            outcome = await checkout.settle(Lock(item_id, token), hold_id)
            log.info("Settled lock %s of %s for hold %s: %s", token, item_id, hold_id, outcome)
            settled += 1
        await store.end_if_over(activity_id)
        await _forget_if_done(redis, keys, activity_id, now)
    return settled


async def _forget_if_done(redis: Redis, keys: ActivityKeys, activity_id: str, now: int) -> None:
    """Stop walking an activity that has ended, whose items expired, with no lock left."""
    status, expires_at = await redis.hmget(keys.info, ["status", "expires_at"])
    if status == "ended" and int(expires_at or 0) < now and await redis.zcard(keys.locks) == 0:
        await redis.srem(ACTIVITIES, activity_id)


async def run_repairer(
    redis: Redis, store: CouponStore, checkout: Checkout, interval_s: float = 1.0
) -> None:
    """Repair rounds forever (a background task of the app)."""
    await every(
        "Coupon repair",
        lambda: repair_once(redis, store, checkout),
        interval_s,
        (*OUTAGES, StockKeeperError),
    )
