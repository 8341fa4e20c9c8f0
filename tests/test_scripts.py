"""Each offer script and the reserve script, called through its typed wrapper on the real
Redis: every outcome each can answer. (Confirm, cancel and expiry: test_scripts_holds.py;
buckets, the loader and the rooms' scripts: test_scripts_buckets.py.)"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.scripts.holds import hold_reserve
from stockkeeper.scripts.offers import (
    offer_adjust_stock,
    offer_create,
    offer_open,
    offer_transition,
)
from stockkeeper.scripts.registry import Scripts

from .helpers import assert_consistent, spec
from .script_helpers import OFFER, TTL, draft, held, live, press


@pytest.fixture
def scripts(keeper: StockKeeper) -> Scripts:
    """The stock scripts, registered and loaded by a started keeper."""
    return keeper.scripts


# ------------------------------------------------------------------ offer_create


async def test_offer_create_makes_a_draft_with_all_its_stock_available(
    scripts: Scripts, redis: Redis
) -> None:
    created = await offer_create(scripts, OFFER, spec(stock=25), 25, "")
    assert created.outcome == "created"
    row = await redis.hgetall(OfferKeys(OFFER).offer)
    assert (row["state"], row["total"], row["available"], row["held"], row["sold"]) == (
        "draft",
        "25",
        "25",
        "0",
        "0",
    )
    assert int(row["created_at"]) == created.created_at


async def test_offer_create_never_overwrites_an_existing_offer(
    scripts: Scripts, redis: Redis
) -> None:
    await draft(scripts, stock=5)
    again = await offer_create(scripts, OFFER, spec(stock=99), 99, "")
    assert (again.outcome, again.created_at) == ("exists", None)
    assert await redis.hget(OfferKeys(OFFER).offer, "total") == "5"


# ------------------------------------------------------------------ offer_open


async def test_offer_open_sets_the_window_from_the_countdown_on_redis_time(
    scripts: Scripts,
) -> None:
    await draft(scripts)
    opened = await offer_open(scripts, OFFER, 10_000, 60_000)
    assert (opened.outcome, opened.state) == ("open", "open")
    assert opened.opens_at is not None
    assert opened.closes_at == opened.opens_at + 60_000


async def test_offer_open_refuses_an_offer_that_is_not_a_draft(scripts: Scripts) -> None:
    await live(scripts)
    refused = await offer_open(scripts, OFFER, 0, 1000)
    assert (refused.outcome, refused.state) == ("invalid_state", "open")


async def test_offer_open_refuses_a_sale_that_would_close_before_it_opens(
    scripts: Scripts,
) -> None:
    await draft(scripts)  # no closes_at scheduled, and no window given
    refused = await offer_open(scripts, OFFER, None, None)
    assert refused.outcome == "invalid_window"
    assert refused.opens_at is not None
    assert refused.closes_at == 0


async def test_offer_open_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await offer_open(scripts, "404", 0, 1000)).outcome == "unknown_offer"


# ------------------------------------------------------------------ offer_transition


async def test_offer_transition_pauses_resumes_and_closes_for_good(scripts: Scripts) -> None:
    await live(scripts)
    assert (await offer_transition(scripts, OFFER, "pause")).state == "paused"
    assert (await offer_transition(scripts, OFFER, "resume")).state == "open"
    closed = await offer_transition(scripts, OFFER, "close")
    assert (closed.outcome, closed.state) == ("ok", "closed")
    refused = await offer_transition(scripts, OFFER, "resume")
    assert (refused.outcome, refused.state) == ("invalid_state", "closed")


async def test_offer_transition_refuses_to_pause_a_draft(scripts: Scripts) -> None:
    await draft(scripts)
    refused = await offer_transition(scripts, OFFER, "pause")
    assert (refused.outcome, refused.state) == ("invalid_state", "draft")


async def test_offer_transition_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await offer_transition(scripts, "404", "close")).outcome == "unknown_offer"


# ------------------------------------------------------------------ offer_adjust_stock


async def test_offer_adjust_stock_adds_and_pulls_available_units(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, stock=3, per_user_limit=3)
    await held(scripts, "u1", 2)
    added = await offer_adjust_stock(scripts, OFFER, 4)
    assert (added.outcome, added.available, added.total) == ("ok", 5, 7)
    pulled = await offer_adjust_stock(scripts, OFFER, -5)
    assert (pulled.outcome, pulled.available, pulled.total) == ("ok", 0, 2)
    await assert_consistent(redis, OFFER)


async def test_offer_adjust_stock_never_pulls_held_or_sold_units(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, stock=3)
    await held(scripts, "u1")
    refused = await offer_adjust_stock(scripts, OFFER, -3)
    assert (refused.outcome, refused.available, refused.total) == ("insufficient", 2, None)
    assert (await assert_consistent(redis, OFFER))["total"] == 3


async def test_offer_adjust_stock_refuses_a_closed_offer(scripts: Scripts) -> None:
    await live(scripts)
    await offer_transition(scripts, OFFER, "close")
    refused = await offer_adjust_stock(scripts, OFFER, 1)
    assert (refused.outcome, refused.state) == ("invalid_state", "closed")


async def test_offer_adjust_stock_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await offer_adjust_stock(scripts, "404", 1)).outcome == "unknown_offer"


# ------------------------------------------------------------------ hold_reserve


async def test_hold_reserve_holds_units_until_a_deadline(scripts: Scripts, redis: Redis) -> None:
    await live(scripts, stock=5, per_user_limit=2, hold_seconds=120)
    result = await hold_reserve(scripts, OFFER, "u1", 2, f"{OFFER}-00000000000000a1", "k1", TTL)
    assert (result.outcome, result.hold_id, result.quantity) == (
        "reserved",
        f"{OFFER}-00000000000000a1",
        2,
    )
    assert (result.status, result.available, result.replayed) == ("held", 3, False)
    assert result.reserved_at is not None
    assert result.deadline == result.reserved_at + 120_000
    assert (await assert_consistent(redis, OFFER))["held"] == 2


async def test_hold_reserve_replays_the_hold_of_a_known_idempotency_key(scripts: Scripts) -> None:
    await live(scripts, stock=5)
    first = await press(scripts, "u1", key="press-1")
    again = await press(scripts, "u1", key="press-1")
    assert (again.outcome, again.hold_id, again.replayed) == ("reserved", first.hold_id, True)
    assert (again.deadline, again.status, again.available) == (first.deadline, "held", 4)


async def test_hold_reserve_answers_sold_out_with_the_units_left(scripts: Scripts) -> None:
    await live(scripts, stock=2, per_user_limit=5)
    too_many = await press(scripts, "u1", 3)
    assert (too_many.outcome, too_many.available, too_many.hold_id) == ("sold_out", 2, None)


async def test_hold_reserve_takes_lapsed_holds_back_before_saying_sold_out(
    scripts: Scripts, redis: Redis
) -> None:
    """Guards against "sold out" while a lapsed hold the sweeper has not reached yet
    still keeps the last unit."""
    await live(scripts, stock=1, hold_seconds=0)  # every hold lapses at once
    await held(scripts, "u1")
    assert (await press(scripts, "u2")).outcome == "reserved"
    assert (await assert_consistent(redis, OFFER))["held"] == 1


async def test_hold_reserve_answers_limit_reached_with_the_buyers_units(
    scripts: Scripts,
) -> None:
    await live(scripts, stock=10, per_user_limit=3)
    await held(scripts, "u1", 2)
    over = await press(scripts, "u1", 2)
    assert (over.outcome, over.units_already, over.limit, over.available) == (
        "limit_reached",
        2,
        3,
        8,
    )


async def test_hold_reserve_answers_not_open_before_the_countdown_ends(scripts: Scripts) -> None:
    await draft(scripts)
    before_launch = await press(scripts, "u1")
    assert (before_launch.outcome, before_launch.opens_at) == ("not_open", None)
    opened = await offer_open(scripts, OFFER, 60_000, 60_000)
    early = await press(scripts, "u1")
    assert (early.outcome, early.opens_at) == ("not_open", opened.opens_at)


async def test_hold_reserve_answers_paused(scripts: Scripts) -> None:
    await live(scripts)
    await offer_transition(scripts, OFFER, "pause")
    assert (await press(scripts, "u1")).outcome == "paused"


async def test_hold_reserve_answers_closed_after_a_close_or_the_window(scripts: Scripts) -> None:
    await live(scripts)
    await offer_transition(scripts, OFFER, "close")
    assert (await press(scripts, "u1")).outcome == "closed"
    await draft(scripts, "8")
    await offer_open(scripts, "8", 0, 50)
    await asyncio.sleep(0.1)
    assert (await press(scripts, "u1", offer_id="8")).outcome == "closed"


async def test_hold_reserve_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await press(scripts, "u1", offer_id="404")).outcome == "unknown_offer"


@pytest.mark.parametrize("quantity", [0, -1])
async def test_hold_reserve_refuses_a_quantity_below_one_and_takes_nothing(
    scripts: Scripts, redis: Redis, quantity: int
) -> None:
    await live(scripts, stock=3)
    refused = await press(scripts, "u1", quantity)
    assert refused.outcome == "invalid"
    assert refused.reason == "quantity must be a whole number of at least 1"
    assert (await assert_consistent(redis, OFFER))["available"] == 3


async def test_hold_reserve_answers_presses_sent_together_each_in_order(
    scripts: Scripts, redis: Redis
) -> None:
    """Presses merged into one script call get one answer each, in arrival order."""
    await live(scripts, stock=2)
    answers = await asyncio.gather(*(press(scripts, f"u{n}") for n in range(4)))
    assert [a.outcome for a in answers] == ["reserved", "reserved", "sold_out", "sold_out"]
    assert [a.available for a in answers] == [1, 0, 0, 0]
    assert (await assert_consistent(redis, OFFER))["held"] == 2
