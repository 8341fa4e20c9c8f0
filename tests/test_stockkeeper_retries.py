"""Retried presses across processes: two StockKeepers on one Redis are two server processes,
each with its own sold-out flags. A retry (the same idempotency key) gets its hold back on
either, as the hold is now."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper

from .helpers import assert_consistent, open_offer


@pytest.fixture
async def other(keeper: StockKeeper, redis: Redis) -> AsyncIterator[StockKeeper]:
    """A second process's stock keeper over the same Redis."""
    second = StockKeeper(redis, keeper.settings)
    await second.start()
    yield second
    await second.close()


async def sold_out_on_both(keeper: StockKeeper, other: StockKeeper, offer_id: str) -> None:
    """Another buyer is refused on both processes, so both have their flag up."""
    for n, process in enumerate((keeper, other)):
        refused = await process.reserve(offer_id, "latecomer", 1, f"press-late-{n}")
        assert refused.outcome == "sold_out"
        assert process.sold_out.is_sold_out(offer_id)


async def test_a_retry_gets_its_hold_on_every_process_while_the_offer_is_sold_out(
    keeper: StockKeeper, other: StockKeeper, redis: Redis
) -> None:
    """Guards against 409 sold_out answered to a retry by a process whose sold-out flag was
    up and which had not made the hold itself (33 of 60 retries with `serve --workers 2`)."""
    offer_id = await open_offer(keeper, stock=1)
    first = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert first.outcome == "reserved"
    await sold_out_on_both(keeper, other, offer_id)
    for n in range(20):
        process = (keeper, other)[n % 2]
        again = await process.reserve(offer_id, "u1", 1, "press-0001")
        assert (again.outcome, again.hold_id, again.replayed) == ("reserved", first.hold_id, True)
        assert (again.quantity, again.deadline, again.status) == (1, first.deadline, "held")
    assert other.sold_out.is_sold_out(offer_id)
    assert await assert_consistent(redis, offer_id) == {
        "total": 1,
        "available": 0,
        "held": 1,
        "sold": 0,
    }


async def test_a_retry_after_paying_says_confirmed_on_every_process(
    keeper: StockKeeper, other: StockKeeper
) -> None:
    """Guards against a retried press answering `status: held` for a hold already paid
    (the sold-out path answered from a memory of the reservation, taken before payment)."""
    offer_id = await open_offer(keeper, stock=1)
    first = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert first.hold_id
    await sold_out_on_both(keeper, other, offer_id)
    assert (await other.confirm(first.hold_id, "u1", "psp-1")).outcome == "confirmed"
    for process in (keeper, other):
        assert process.sold_out.is_sold_out(offer_id)
        again = await process.reserve(offer_id, "u1", 1, "press-0001")
        assert (again.hold_id, again.replayed, again.status) == (first.hold_id, True, "confirmed")


async def test_a_retry_of_a_cancelled_hold_says_cancelled_and_takes_nothing(
    keeper: StockKeeper, other: StockKeeper
) -> None:
    offer_id = await open_offer(keeper, stock=1)
    first = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert first.hold_id
    await sold_out_on_both(keeper, other, offer_id)
    await other.cancel(first.hold_id, "u1")
    again = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert (again.hold_id, again.replayed, again.status) == (first.hold_id, True, "cancelled")
    assert (await keeper.get_offer(offer_id)).available == 1


async def test_a_retry_in_a_hot_offer_finds_its_hold_in_its_home_bucket(
    keeper: StockKeeper, other: StockKeeper, redis: Redis
) -> None:
    """A hot offer keeps each buyer's idempotency keys in the buyer's home bucket: the
    lookup of a sold-out press goes there, on either process."""
    offer_id = await open_offer(keeper, stock=4, buckets=4, per_user_limit=4)
    holds = {}
    for user in ("u1", "u2", "u3", "u4"):
        got = await keeper.reserve(offer_id, user, 1, f"press-{user}")
        assert got.outcome == "reserved"
        holds[user] = got.hold_id
    await sold_out_on_both(keeper, other, offer_id)
    for process in (other, keeper):
        for user, hold_id in holds.items():
            again = await process.reserve(offer_id, user, 1, f"press-{user}")
            assert (again.hold_id, again.replayed, again.available) == (hold_id, True, None)
    assert (await assert_consistent(redis, offer_id))["held"] == 4


async def test_a_flag_that_missed_returned_stock_lets_the_press_reserve(
    keeper: StockKeeper, other: StockKeeper
) -> None:
    """The lookup sees the units left: a flag still up after units came back (its stock
    event was missed) is lowered by the next press, which reserves."""
    offer_id = await open_offer(keeper, stock=1)
    first = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert first.hold_id
    await sold_out_on_both(keeper, other, offer_id)
    await other.cancel(first.hold_id, "u1")  # no stock watcher runs: keeper's flag stays up
    assert keeper.sold_out.is_sold_out(offer_id)
    got = await keeper.reserve(offer_id, "u2", 1, "press-0002")
    assert (got.outcome, got.replayed) == ("reserved", False)
