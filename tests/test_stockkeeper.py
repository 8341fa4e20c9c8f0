"""The stock keeper's offers, reservations and sold-out flags, through StockKeeper on the
real Redis. (Payments, cancels and expiry: test_stockkeeper_holds.py.)"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from redis.asyncio import Redis

from deploy.stack import RedisServer
from server.redis_client import connect
from stockkeeper.errors import (
    InsufficientStock,
    InvalidState,
    InvalidWindow,
    UnknownOffer,
)
from stockkeeper.keeper import StockKeeper
from stockkeeper.settings import StockSettings
from stockkeeper.stock_events import watch_stock

from .helpers import assert_consistent, open_offer, spec, wait_for

# ------------------------------------------------------------------ offer lifecycle


async def test_a_new_offer_is_a_draft_with_all_stock_available(keeper: StockKeeper) -> None:
    offer = await keeper.create_offer(spec(stock=25))
    assert (offer.state, offer.total, offer.available, offer.held, offer.sold) == (
        "draft",
        25,
        25,
        0,
        0,
    )
    assert [o.id for o in await keeper.room_offers("room-1")] == [offer.id]


async def test_opening_with_a_countdown_sets_the_window_from_redis_time(
    keeper: StockKeeper,
) -> None:
    offer = await keeper.create_offer(spec())
    opened = await keeper.open_offer(offer.id, countdown_ms=10_000, window_ms=60_000)
    assert opened.state == "open"
    assert opened.closes_at - opened.opens_at == 60_000
    assert opened.opens_at - opened.created_at >= 10_000


async def test_opening_needs_a_window_that_ends_in_the_future(keeper: StockKeeper) -> None:
    offer = await keeper.create_offer(spec())
    with pytest.raises(InvalidWindow):
        await keeper.open_offer(offer.id)  # no closes_at scheduled, none given


async def test_state_changes_follow_the_lifecycle(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper)
    assert (await keeper.pause_offer(offer_id)).state == "paused"
    with pytest.raises(InvalidState):
        await keeper.pause_offer(offer_id)
    assert (await keeper.resume_offer(offer_id)).state == "open"
    assert (await keeper.close_offer(offer_id)).state == "closed"
    with pytest.raises(InvalidState):
        await keeper.resume_offer(offer_id)
    with pytest.raises(InvalidState):
        await keeper.open_offer(offer_id, countdown_ms=0, window_ms=1000)


async def test_operations_on_an_unknown_offer_fail_clearly(keeper: StockKeeper) -> None:
    for call in (
        keeper.get_offer("999"),
        keeper.pause_offer("999"),
        keeper.restock("999", 1),
        keeper.get_offer("not-an-id"),
    ):
        with pytest.raises(UnknownOffer):
            await call
    assert (await keeper.reserve("999", "u1", 1, "key-00001")).outcome == "unknown_offer"


async def test_restock_adds_units_and_pull_never_takes_held_or_sold_ones(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=3, per_user_limit=5)
    await keeper.reserve(offer_id, "u1", 2, "key-00001")
    level = await keeper.restock(offer_id, 4)
    assert (level.available, level.total) == (5, 7)
    with pytest.raises(InsufficientStock) as err:
        await keeper.pull_stock(offer_id, 6)
    assert err.value.available == 5
    level = await keeper.pull_stock(offer_id, 5)
    assert (level.available, level.total) == (0, 2)
    await assert_consistent(redis, offer_id)


async def test_a_closed_offer_cannot_be_restocked(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper)
    await keeper.close_offer(offer_id)
    with pytest.raises(InvalidState):
        await keeper.restock(offer_id, 1)


# ------------------------------------------------------------------ reserve


async def test_reserving_holds_units_until_a_payment_deadline(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=5, hold_seconds=120)
    result = await keeper.reserve(offer_id, "u1", 1, "key-00001")
    assert result.outcome == "reserved"
    assert result.status == "held"
    assert result.available == 4
    assert result.deadline is not None
    assert result.reserved_at is not None
    assert result.deadline - result.reserved_at == 120_000
    assert await assert_consistent(redis, offer_id) == {
        "total": 5,
        "available": 4,
        "held": 1,
        "sold": 0,
    }


async def test_the_same_idempotency_key_returns_the_same_hold_and_takes_nothing_more(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=5, per_user_limit=3)
    first = await keeper.reserve(offer_id, "u1", 2, "press-0001")
    again = await keeper.reserve(offer_id, "u1", 2, "press-0001")
    assert again.replayed
    assert not first.replayed
    assert (again.hold_id, again.quantity, again.deadline) == (
        first.hold_id,
        first.quantity,
        first.deadline,
    )
    assert (await keeper.get_offer(offer_id)).available == 3
    # Another buyer's identical key is a different request.
    other = await keeper.reserve(offer_id, "u2", 1, "press-0001")
    assert other.hold_id != first.hold_id
    assert not other.replayed
    await assert_consistent(redis, offer_id)


async def test_a_replayed_key_reports_what_became_of_its_hold(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper)
    first = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert first.hold_id
    await keeper.confirm(first.hold_id, "u1", "pay-1")
    again = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert (again.outcome, again.hold_id, again.status) == ("reserved", first.hold_id, "confirmed")


async def test_the_per_user_limit_counts_holds_and_orders(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper, stock=10, per_user_limit=3)
    first = await keeper.reserve(offer_id, "u1", 2, "press-0001")
    assert first.hold_id
    await keeper.confirm(first.hold_id, "u1", "pay-1")
    over = await keeper.reserve(offer_id, "u1", 2, "press-0002")
    assert (over.outcome, over.units_already, over.limit) == ("limit_reached", 2, 3)
    assert (await keeper.reserve(offer_id, "u1", 1, "press-0003")).outcome == "reserved"
    assert (await keeper.reserve(offer_id, "u1", 1, "press-0004")).outcome == "limit_reached"


async def test_a_cancelled_hold_gives_the_allowance_back(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper, per_user_limit=1)
    held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert held.hold_id
    await keeper.cancel(held.hold_id, "u1")
    assert (await keeper.reserve(offer_id, "u1", 1, "press-0002")).outcome == "reserved"


@pytest.mark.parametrize(
    ("quantity", "key"), [(0, "press-0001"), (-2, "press-0001"), (10**30, "press-0001"), (1, "")]
)
async def test_an_invalid_request_is_refused_and_takes_nothing(
    keeper: StockKeeper, redis: Redis, quantity: int, key: str
) -> None:
    offer_id = await open_offer(keeper, stock=3)
    result = await keeper.reserve(offer_id, "u1", quantity, key)
    assert result.outcome == "invalid"
    assert result.reason
    assert (await assert_consistent(redis, offer_id))["available"] == 3


async def test_sold_out_says_how_many_are_left(keeper: StockKeeper, redis: Redis) -> None:
    offer_id = await open_offer(keeper, stock=2, per_user_limit=5)
    too_many = await keeper.reserve(offer_id, "u1", 3, "press-0001")
    assert (too_many.outcome, too_many.available) == ("sold_out", 2)
    assert (await keeper.reserve(offer_id, "u1", 2, "press-0002")).outcome == "reserved"
    gone = await keeper.reserve(offer_id, "u2", 1, "press-0003")
    assert (gone.outcome, gone.available) == ("sold_out", 0)
    await assert_consistent(redis, offer_id)


async def test_a_press_before_the_sale_opens_takes_nothing(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Guards against early requests draining stock before the countdown ends."""
    draft = await keeper.create_offer(spec(stock=3))
    assert (await keeper.reserve(draft.id, "u1", 1, "press-0001")).outcome == "not_open"
    await keeper.open_offer(draft.id, countdown_ms=60_000, window_ms=60_000)
    early = await keeper.reserve(draft.id, "u1", 1, "press-0002")
    assert early.outcome == "not_open"
    assert early.opens_at == (await keeper.get_offer(draft.id)).opens_at
    assert (await assert_consistent(redis, draft.id))["available"] == 3


async def test_the_sale_opens_when_the_countdown_ends(keeper: StockKeeper) -> None:
    offer = await keeper.create_offer(spec())
    await keeper.open_offer(offer.id, countdown_ms=300, window_ms=60_000)
    assert (await keeper.reserve(offer.id, "u1", 1, "press-0001")).outcome == "not_open"
    await asyncio.sleep(0.4)
    assert (await keeper.reserve(offer.id, "u1", 1, "press-0002")).outcome == "reserved"


async def test_paused_and_closed_offers_take_no_reservations(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper)
    await keeper.pause_offer(offer_id)
    assert (await keeper.reserve(offer_id, "u1", 1, "press-0001")).outcome == "paused"
    await keeper.resume_offer(offer_id)
    await keeper.close_offer(offer_id)
    assert (await keeper.reserve(offer_id, "u1", 1, "press-0002")).outcome == "closed"


async def test_the_sale_closes_at_the_end_of_its_window(keeper: StockKeeper) -> None:
    offer = await keeper.create_offer(spec())
    await keeper.open_offer(offer.id, countdown_ms=0, window_ms=200)
    await asyncio.sleep(0.3)
    assert (await keeper.reserve(offer.id, "u1", 1, "press-0001")).outcome == "closed"


# ------------------------------------------------------------------ sold-out flag


@pytest.mark.slow
async def test_the_sold_out_flag_answers_with_one_lookup_and_clears_when_stock_returns(
    redis_server: RedisServer, stock_settings: StockSettings
) -> None:
    """Guards against a sold-out flag that is never cleared when stock comes back. While it
    is up a press costs one read-only lookup of its key (a retry may have reserved on
    another process), not the reserve script. (A Redis of the test's own: its command
    count is the test's alone.)"""
    redis = connect(redis_server.url)
    keeper = StockKeeper(redis, dataclasses.replace(stock_settings, redis_url=redis_server.url))
    await keeper.start()
    try:
        offer_id = await open_offer(keeper, stock=1)
        await keeper.reserve(offer_id, "u1", 1, "press-0001")
        assert keeper.sold_out.is_sold_out(offer_id)
        calls_before = (await redis.info("stats"))["total_commands_processed"]
        assert (await keeper.reserve(offer_id, "u2", 1, "press-0002")).outcome == "sold_out"
        calls_after = (await redis.info("stats"))["total_commands_processed"]
        # The INFO call itself, and one EVALSHA of the lookup with its HGET and GET.
        assert calls_after - calls_before == 4
        assert (await keeper.get_offer(offer_id)).reservations == 1
        await keeper.restock(offer_id, 1)
        assert not keeper.sold_out.is_sold_out(offer_id)
        assert (await keeper.reserve(offer_id, "u2", 1, "press-0003")).outcome == "reserved"
    finally:
        await keeper.close()
        await redis.aclose()


async def test_a_retry_during_a_sell_out_still_gets_its_hold(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper, stock=1)
    first = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert keeper.sold_out.is_sold_out(offer_id)
    again = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert (again.outcome, again.hold_id, again.replayed) == ("reserved", first.hold_id, True)


async def test_stock_returned_by_another_process_lowers_this_process_flag(
    keeper: StockKeeper, redis: Redis
) -> None:
    other = StockKeeper(redis, keeper.settings)
    await other.start()
    watcher = asyncio.create_task(watch_stock(keeper))
    try:
        offer_id = await open_offer(keeper, stock=1)
        held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
        assert held.hold_id
        assert keeper.sold_out.is_sold_out(offer_id)
        await asyncio.sleep(0.2)  # the watcher is subscribed
        await other.cancel(held.hold_id, "u1")

        async def lowered() -> bool:
            return not keeper.sold_out.is_sold_out(offer_id)

        await wait_for(lowered, 5, "the sold-out flag to clear")
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await other.close()
