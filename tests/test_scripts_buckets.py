"""The bucket scripts of a hot offer, called on the real Redis through their typed wrappers."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.scripts.buckets import bucket_give, bucket_settle, bucket_sync, bucket_take
from stockkeeper.scripts.offers import offer_transition
from stockkeeper.scripts.registry import Scripts

from .helpers import assert_consistent
from .script_helpers import OFFER, draft, held, live

GIVER, TRANSFER = f"{OFFER}.1", "1700000000000-00000000000000aa"


@pytest.fixture
def scripts(keeper: StockKeeper) -> Scripts:
    """The stock scripts, registered and loaded by a started keeper."""
    return keeper.scripts


async def hot_offer(scripts: Scripts, giver_stock: int = 4, **overrides: object) -> None:
    """Offer 7 with 2 units in bucket 0 and ``giver_stock`` in bucket 1, both on sale."""
    await live(scripts, OFFER, stock=2, buckets=2, **overrides)
    await live(scripts, GIVER, stock=giver_stock, buckets=2, **overrides)


# ------------------------------------------------------------------ bucket_give


async def test_bucket_give_takes_units_off_sale_and_writes_the_transfer_down(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts)
    given = await bucket_give(scripts, GIVER, TRANSFER, 3, OFFER)
    assert (given.outcome, given.units) == ("given", 3)
    g = OfferKeys(GIVER)
    assert await redis.hmget(g.offer, "available", "total", "sent_pending") == ["1", "1", "3"]
    assert await redis.hgetall(g.transfers) == {TRANSFER: f"{OFFER} 3"}


async def test_bucket_give_gives_at_most_what_it_has_then_answers_empty(
    scripts: Scripts,
) -> None:
    await hot_offer(scripts, giver_stock=2)
    assert (await bucket_give(scripts, GIVER, "t-1", 5, OFFER)).units == 2
    empty = await bucket_give(scripts, GIVER, "t-2", 1, OFFER)
    assert (empty.outcome, empty.units) == ("empty", 0)


async def test_bucket_give_takes_lapsed_holds_back_before_answering_empty(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts, giver_stock=1, hold_seconds=0)
    await held(scripts, "u1", offer_id=GIVER)
    given = await bucket_give(scripts, GIVER, TRANSFER, 1, OFFER)
    assert (given.outcome, given.units) == ("given", 1)
    assert await redis.hget(OfferKeys(GIVER).offer, "held") == "0"


async def test_bucket_give_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await bucket_give(scripts, "404.1", TRANSFER, 1, "404")).outcome == "unknown_offer"


# ------------------------------------------------------- bucket_take and bucket_settle


async def test_bucket_take_adds_a_transfer_to_the_receiver_once(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts)
    await bucket_give(scripts, GIVER, TRANSFER, 3, OFFER)
    taken = await bucket_take(scripts, OFFER, TRANSFER, 3)
    assert (taken.outcome, taken.available) == ("taken", 5)
    again = await bucket_take(scripts, OFFER, TRANSFER, 3)
    assert (again.outcome, again.available) == ("already_taken", 5)
    assert await redis.hget(OfferKeys(OFFER).offer, "total") == "5"


async def test_bucket_settle_crosses_a_taken_transfer_off_once(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts)
    await bucket_give(scripts, GIVER, TRANSFER, 3, OFFER)
    await bucket_take(scripts, OFFER, TRANSFER, 3)
    assert await bucket_settle(scripts, GIVER, TRANSFER) == 3
    assert await bucket_settle(scripts, GIVER, TRANSFER) == 0
    g = OfferKeys(GIVER)
    assert await redis.hget(g.offer, "sent_pending") == "0"
    assert await redis.hgetall(g.transfers) == {}
    assert await assert_consistent(redis, OFFER) == {
        "total": 6,
        "available": 6,
        "held": 0,
        "sold": 0,
    }


# ------------------------------------------------------------------ bucket_sync


async def test_bucket_sync_gives_a_bucket_the_offers_state_and_window(
    scripts: Scripts, redis: Redis
) -> None:
    await draft(scripts, GIVER)
    synced = await bucket_sync(scripts, GIVER, "open", 1000, 2000)
    assert (synced.outcome, synced.state) == ("ok", "open")
    row = await redis.hmget(OfferKeys(GIVER).offer, "state", "opens_at", "closes_at")
    assert row == ["open", "1000", "2000"]


async def test_bucket_sync_never_reopens_a_closed_bucket(scripts: Scripts) -> None:
    await live(scripts, GIVER)
    await offer_transition(scripts, GIVER, "close")
    synced = await bucket_sync(scripts, GIVER, "open", 1000, 2000)
    assert (synced.outcome, synced.state) == ("ok", "closed")


async def test_bucket_sync_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await bucket_sync(scripts, "404.1", "open", 1, 2)).outcome == "unknown_offer"
