"""The replay, confirm, cancel and expiry scripts, called through their typed wrappers on
the real Redis: every outcome each can answer. Offers whose holds last 0 s have holds that
lapse at once, so nothing here waits for a deadline."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from redis.asyncio import Redis

from stockkeeper.errors import StockKeeperError
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.scripts import holds
from stockkeeper.scripts.holds import hold_cancel, hold_confirm, hold_replay, holds_expire
from stockkeeper.scripts.registry import Scripts

from .helpers import assert_consistent
from .script_helpers import OFFER, held, live, press


@pytest.fixture
def scripts(keeper: StockKeeper) -> Scripts:
    """The stock scripts, registered and loaded by a started keeper."""
    return keeper.scripts


async def outbox(redis: Redis) -> list[dict[str, str]]:
    entries = await redis.xrange(OfferKeys(OFFER).outbox)
    return [cast(dict[str, str], fields) for _, fields in entries or []]


# ------------------------------------------------- a retried press: hold_reserve, hold_replay


async def test_hold_reserve_replays_a_paid_hold_as_confirmed(
    scripts: Scripts, redis: Redis
) -> None:
    """Guards against a retried press answering `status: held` for a hold already paid."""
    await live(scripts, stock=5)
    first = await press(scripts, "u1", key="press-1")
    assert first.hold_id
    await hold_confirm(scripts, OFFER, first.hold_id, "u1", "pay-1", may_refill=False)
    again = await press(scripts, "u1", key="press-1")
    assert (again.outcome, again.hold_id, again.replayed) == ("reserved", first.hold_id, True)
    assert (again.status, again.deadline, again.available) == ("confirmed", first.deadline, 4)
    assert await assert_consistent(redis, OFFER) == {
        "total": 5,
        "available": 4,
        "held": 0,
        "sold": 1,
    }


async def test_hold_replay_returns_the_hold_of_a_known_key_as_it_is_now(
    scripts: Scripts,
) -> None:
    await live(scripts, stock=1)
    first = await press(scripts, "u1", key="press-1")
    assert first.hold_id
    found = await hold_replay(scripts, OFFER, "u1", "press-1")
    assert found.hold is not None
    assert (found.hold.outcome, found.hold.hold_id, found.hold.replayed) == (
        "reserved",
        first.hold_id,
        True,
    )
    assert (found.hold.quantity, found.hold.deadline, found.hold.status) == (
        1,
        first.deadline,
        "held",
    )
    assert (found.available, found.hold.available) == (0, 0)
    await hold_confirm(scripts, OFFER, first.hold_id, "u1", "pay-1", may_refill=False)
    paid = await hold_replay(scripts, OFFER, "u1", "press-1")
    assert paid.hold is not None
    assert (paid.hold.hold_id, paid.hold.status) == (first.hold_id, "confirmed")


async def test_hold_replay_of_a_key_that_reserved_nothing_says_how_many_are_left(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, stock=3)
    await press(scripts, "u1", key="press-1")
    before = await redis.hgetall(OfferKeys(OFFER).offer)
    for user, key in (("u2", "press-2"), ("u2", "press-1")):  # another buyer's same key
        found = await hold_replay(scripts, OFFER, user, key)
        assert (found.hold, found.available) == (None, 2)
    assert await redis.hgetall(OfferKeys(OFFER).offer) == before
    assert (await hold_replay(scripts, "404", "u1", "press-1")).available == 0


async def test_hold_replay_answers_lookups_sent_together_each_its_own(scripts: Scripts) -> None:
    await live(scripts, stock=2, per_user_limit=1)
    made = {user: await press(scripts, user, key=f"press-{user}") for user in ("u1", "u2")}
    found = await asyncio.gather(
        *(hold_replay(scripts, OFFER, user, f"press-{user}") for user in ("u1", "u3", "u2"))
    )
    assert [f.hold.hold_id if f.hold else None for f in found] == [
        made["u1"].hold_id,
        None,
        made["u2"].hold_id,
    ]


# ------------------------------------------------------------------ hold_confirm


async def test_hold_confirm_makes_an_order_and_its_outbox_entry(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, stock=5, per_user_limit=2, unit_price=1250)
    hold_id = await held(scripts, "u1", 2)
    order = await hold_confirm(scripts, OFFER, hold_id, "u1", "pay-1", may_refill=False)
    assert (order.outcome, order.order_id, order.quantity, order.amount) == (
        "confirmed",
        f"o{hold_id}",
        2,
        2500,
    )
    assert (order.replayed, order.late, order.room_id) == (False, False, "room-1")
    assert order.confirmed_at is not None
    [entry] = await outbox(redis)
    assert (entry["type"], entry["order_id"], entry["payment_ref"]) == (
        "order_confirmed",
        order.order_id,
        "pay-1",
    )
    assert await redis.sismember(OfferKeys(OFFER).buyers, "u1")
    assert (await assert_consistent(redis, OFFER))["sold"] == 2


async def test_hold_confirm_replays_the_order_of_the_same_payment(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts)
    hold_id = await held(scripts, "u1")
    first = await hold_confirm(scripts, OFFER, hold_id, "u1", "pay-1", may_refill=False)
    again = await hold_confirm(scripts, OFFER, hold_id, "u1", "pay-1", may_refill=False)
    assert (again.outcome, again.replayed, again.order_id) == ("confirmed", True, first.order_id)
    assert (again.confirmed_at, again.amount) == (first.confirmed_at, first.amount)
    assert len(await outbox(redis)) == 1


async def test_hold_confirm_owes_a_second_payment_back_once(scripts: Scripts, redis: Redis) -> None:
    await live(scripts)
    hold_id = await held(scripts, "u1")
    first = await hold_confirm(scripts, OFFER, hold_id, "u1", "pay-1", may_refill=False)
    for _ in range(2):
        dup = await hold_confirm(scripts, OFFER, hold_id, "u1", "pay-2", may_refill=False)
        assert (dup.outcome, dup.order_id) == ("already_confirmed", first.order_id)
    kinds = [(e["type"], e.get("reason")) for e in await outbox(redis)]
    assert kinds == [("order_confirmed", None), ("refund_due", "duplicate_payment")]


async def test_hold_confirm_takes_the_units_again_for_a_late_payment_when_still_there(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, stock=3, hold_seconds=0)
    hold_id = await held(scripts, "u1")
    order = await hold_confirm(scripts, OFFER, hold_id, "u1", "pay-late", may_refill=False)
    assert (order.outcome, order.late, order.replayed) == ("confirmed", True, False)
    assert await assert_consistent(redis, OFFER) == {
        "total": 3,
        "available": 2,
        "held": 0,
        "sold": 1,
    }


async def test_hold_confirm_owes_a_late_payment_back_when_the_unit_was_resold(
    scripts: Scripts, redis: Redis
) -> None:
    """Guards against a payment arriving after its hold lapsed and its unit was resold."""
    await live(scripts, stock=1, hold_seconds=0)
    late = await held(scripts, "u1")
    await held(scripts, "u2")  # takes the lapsed unit back, then holds it
    for _ in range(2):
        answer = await hold_confirm(scripts, OFFER, late, "u1", "pay-u1", may_refill=False)
        assert (answer.outcome, answer.quantity, answer.room_id) == ("hold_expired", 1, "room-1")
    kinds = [(e["type"], e.get("reason")) for e in await outbox(redis)]
    assert kinds == [("refund_due", "hold_expired")]
    assert (await assert_consistent(redis, OFFER))["sold"] == 0


async def test_a_payment_owed_back_stays_owed_back_when_units_return_before_its_retry(
    scripts: Scripts, redis: Redis
) -> None:
    """Guards against a buyer getting both the goods and the money: a late payment was owed
    back (its unit resold), the unit came back, and a retry of the same payment confirmed."""
    await live(scripts, stock=1, hold_seconds=0)
    late = await held(scripts, "u1")
    other = await held(scripts, "u2")
    first = await hold_confirm(scripts, OFFER, late, "u1", "pay-u1", may_refill=False)
    assert first.outcome == "hold_expired"
    assert (await hold_cancel(scripts, OFFER, other, "u2")).outcome in {"cancelled", "expired"}
    retry = await hold_confirm(scripts, OFFER, late, "u1", "pay-u1", may_refill=False)
    assert retry.outcome == "hold_expired"
    kinds = [(e["type"], e.get("reason")) for e in await outbox(redis)]
    assert kinds == [("refund_due", "hold_expired")]
    assert (await assert_consistent(redis, OFFER))["sold"] == 0


async def test_hold_confirm_answers_short_and_writes_nothing_when_units_may_be_moved_in(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, stock=1, hold_seconds=0)
    late = await held(scripts, "u1")
    await held(scripts, "u2")
    short = await hold_confirm(scripts, OFFER, late, "u1", "pay-u1", may_refill=True)
    assert (short.outcome, short.quantity, short.order_id) == ("short", 1, None)
    assert await outbox(redis) == []


async def test_hold_confirm_answers_unknown_hold_for_another_buyer_or_no_hold(
    scripts: Scripts,
) -> None:
    await live(scripts)
    hold_id = await held(scripts, "u1")
    other = await hold_confirm(scripts, OFFER, hold_id, "u2", "pay-1", may_refill=False)
    assert other.outcome == "unknown_hold"
    missing = f"{OFFER}-0000000000000000"
    assert (
        await hold_confirm(scripts, OFFER, missing, "u1", "pay-1", may_refill=False)
    ).outcome == "unknown_hold"


# ------------------------------------------------------------------ hold_cancel


async def test_hold_cancel_returns_the_units_once(scripts: Scripts, redis: Redis) -> None:
    await live(scripts, stock=2, per_user_limit=2)
    hold_id = await held(scripts, "u1", 2)
    for _ in range(2):
        cancelled = await hold_cancel(scripts, OFFER, hold_id, "u1")
        assert (cancelled.outcome, cancelled.available) == ("cancelled", 2)
    assert await redis.hget(OfferKeys(OFFER).hold(hold_id), "status") == "cancelled"
    assert (await assert_consistent(redis, OFFER))["held"] == 0


async def test_hold_cancel_of_a_lapsed_hold_counts_as_expiry(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, hold_seconds=0)
    hold_id = await held(scripts, "u1")
    for _ in range(2):
        assert (await hold_cancel(scripts, OFFER, hold_id, "u1")).outcome == "expired"
    assert await redis.hget(OfferKeys(OFFER).hold(hold_id), "status") == "expired"
    assert (await assert_consistent(redis, OFFER))["available"] == 10


async def test_hold_cancel_refuses_a_paid_hold_and_names_its_order(scripts: Scripts) -> None:
    await live(scripts)
    hold_id = await held(scripts, "u1")
    order = await hold_confirm(scripts, OFFER, hold_id, "u1", "pay-1", may_refill=False)
    refused = await hold_cancel(scripts, OFFER, hold_id, "u1")
    assert (refused.outcome, refused.order_id) == ("already_confirmed", order.order_id)


async def test_hold_cancel_answers_unknown_hold_for_another_buyer(scripts: Scripts) -> None:
    await live(scripts)
    hold_id = await held(scripts, "u1")
    assert (await hold_cancel(scripts, OFFER, hold_id, "u2")).outcome == "unknown_hold"


# ------------------------------------------------------------------ holds_expire


async def test_holds_expire_releases_lapsed_holds_and_names_their_buyers(
    scripts: Scripts, redis: Redis
) -> None:
    await live(scripts, stock=5, per_user_limit=2, hold_seconds=0)
    first, second = await held(scripts, "u1", 2), await held(scripts, "u2")
    result = await holds_expire(scripts, OFFER, 100)
    assert (result.holds_expired, result.units_returned, result.available) == (2, 3, 5)
    assert (result.room_id, result.sent_pending) == ("room-1", 0)
    assert sorted(result.expired) == sorted([(first, "u1"), (second, "u2")])
    again = await holds_expire(scripts, OFFER, 100)
    assert (again.holds_expired, again.units_returned, again.expired) == (0, 0, ())
    assert (await assert_consistent(redis, OFFER))["available"] == 5


async def test_holds_expire_releases_at_most_a_batch(scripts: Scripts) -> None:
    await live(scripts, stock=5, hold_seconds=0)
    for user in ("u1", "u2", "u3"):
        await held(scripts, user)
    assert (await holds_expire(scripts, OFFER, 2)).holds_expired == 2
    assert (await holds_expire(scripts, OFFER, 2)).holds_expired == 1


async def test_holds_expire_leaves_paid_and_running_holds_alone(scripts: Scripts) -> None:
    await live(scripts, stock=5, hold_seconds=300)
    paid = await held(scripts, "u1")
    await hold_confirm(scripts, OFFER, paid, "u1", "pay-1", may_refill=False)
    await held(scripts, "u2")
    result = await holds_expire(scripts, OFFER, 100)
    assert (result.holds_expired, result.units_returned, result.available) == (0, 0, 3)


async def test_holds_expire_of_an_offer_indexed_but_never_created_finds_nothing(
    scripts: Scripts,
) -> None:
    """Guards against a sweeper that failed on every pass once an offer's creation died
    after indexing it: the script's reply was cut short at the missing offer's stock."""
    result = await holds_expire(scripts, "404", 100)
    assert (result.holds_expired, result.units_returned, result.available) == (0, 0, 0)
    assert (result.room_id, result.sent_pending, result.expired) == ("", 0, ())


def test_a_reply_no_wrapper_knows_is_an_error_not_an_unknown_hold() -> None:
    """Guards against a buyer who just paid hearing "unknown hold" because a script and its
    wrapper disagree."""
    with pytest.raises(StockKeeperError, match=r"hold_reserve\.lua answered"):
        holds._reserve_result(["reserved_elsewhere"])
