"""Payments, cancels and expiry of holds, through StockKeeper on the real Redis."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from redis.asyncio import Redis

from stockkeeper.errors import HoldAlreadyConfirmed, UnknownHold
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.sweeper import sweep_once

from .helpers import assert_consistent, open_offer


async def outbox(redis: Redis, offer_id: str) -> list[dict[str, str]]:
    entries = await redis.xrange(OfferKeys(offer_id).outbox)
    return [cast(dict[str, str], fields) for _, fields in entries or []]


# ------------------------------------------------------------------ confirm


async def test_confirming_makes_an_order_and_its_outbox_entry_together(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=5, per_user_limit=2, unit_price=1250)
    held = await keeper.reserve(offer_id, "u1", 2, "press-0001")
    assert held.hold_id
    order = await keeper.confirm(held.hold_id, "u1", "pay-123")
    assert (order.outcome, order.quantity, order.amount, order.late) == (
        "confirmed",
        2,
        2500,
        False,
    )
    assert order.order_id == f"o{held.hold_id}"
    [entry] = await outbox(redis, offer_id)
    assert entry["type"] == "order_confirmed"
    assert (entry["order_id"], entry["quantity"], entry["amount"], entry["payment_ref"]) == (
        order.order_id,
        "2",
        "2500",
        "pay-123",
    )
    assert (entry["sku"], entry["room_id"], entry["currency"]) == ("SKU-RED-MUG", "room-1", "EUR")
    assert await assert_consistent(redis, offer_id) == {
        "total": 5,
        "available": 3,
        "held": 0,
        "sold": 2,
    }


async def test_confirming_twice_returns_the_same_order_once(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper)
    held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert held.hold_id
    first = await keeper.confirm(held.hold_id, "u1", "pay-1")
    again = await keeper.confirm(held.hold_id, "u1", "pay-1")
    assert again.replayed
    assert again.order_id == first.order_id
    assert len(await outbox(redis, offer_id)) == 1
    assert (await assert_consistent(redis, offer_id))["sold"] == 1


async def test_a_second_payment_for_a_paid_hold_is_refunded_once(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper)
    held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert held.hold_id
    first = await keeper.confirm(held.hold_id, "u1", "pay-1")
    for _ in range(2):
        dup = await keeper.confirm(held.hold_id, "u1", "pay-2")
        assert (dup.outcome, dup.order_id, dup.refund_due) == (
            "already_confirmed",
            first.order_id,
            True,
        )
    entries = await outbox(redis, offer_id)
    assert [e["type"] for e in entries] == ["order_confirmed", "refund_due"]
    assert (entries[1]["reason"], entries[1]["payment_ref"]) == ("duplicate_payment", "pay-2")


async def test_only_the_buyer_can_see_pay_or_cancel_a_hold(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper)
    held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert held.hold_id
    for call in (
        keeper.confirm(held.hold_id, "u2", "pay-1"),
        keeper.cancel(held.hold_id, "u2"),
        keeper.get_hold(held.hold_id, "u2"),
        keeper.confirm(f"{offer_id}-0000000000000000", "u1", "pay-1"),
        keeper.confirm("garbage", "u1", "pay-1"),
    ):
        with pytest.raises(UnknownHold):
            await call
    assert (await keeper.get_hold(held.hold_id, "u1")).status == "held"


async def test_a_late_payment_takes_the_units_again_when_still_there(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=3, hold_seconds=1)
    held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert held.hold_id
    await asyncio.sleep(1.1)
    order = await keeper.confirm(held.hold_id, "u1", "pay-late")
    assert (order.outcome, order.late) == ("confirmed", True)
    assert await assert_consistent(redis, offer_id) == {
        "total": 3,
        "available": 2,
        "held": 0,
        "sold": 1,
    }


async def test_a_late_payment_for_a_resold_unit_is_refunded_not_oversold(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Guards against a payment arriving after its hold expired and the unit was resold."""
    offer_id = await open_offer(keeper, stock=1, hold_seconds=1)
    late = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert late.hold_id
    await asyncio.sleep(1.1)
    assert await sweep_once(keeper) == 1
    resold = await keeper.reserve(offer_id, "u2", 1, "press-0002")
    assert resold.outcome == "reserved"
    assert resold.hold_id
    await keeper.confirm(resold.hold_id, "u2", "pay-u2")
    for _ in range(2):
        answer = await keeper.confirm(late.hold_id, "u1", "pay-u1")
        assert (answer.outcome, answer.refund_due) == ("hold_expired", True)
    types = [(e["type"], e.get("reason")) for e in await outbox(redis, offer_id)]
    assert types == [("order_confirmed", None), ("refund_due", "hold_expired")]
    assert await assert_consistent(redis, offer_id) == {
        "total": 1,
        "available": 0,
        "held": 0,
        "sold": 1,
    }


# ------------------------------------------------------------------ cancel and expiry


async def test_cancelling_returns_units_once(keeper: StockKeeper, redis: Redis) -> None:
    offer_id = await open_offer(keeper, stock=2, per_user_limit=2)
    held = await keeper.reserve(offer_id, "u1", 2, "press-0001")
    assert held.hold_id
    assert (await keeper.cancel(held.hold_id, "u1")).available == 2
    assert (await keeper.cancel(held.hold_id, "u1")).outcome == "cancelled"
    assert (await assert_consistent(redis, offer_id))["available"] == 2


async def test_a_paid_hold_cannot_be_cancelled(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper)
    held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert held.hold_id
    order = await keeper.confirm(held.hold_id, "u1", "pay-1")
    with pytest.raises(HoldAlreadyConfirmed) as err:
        await keeper.cancel(held.hold_id, "u1")
    assert err.value.order_id == order.order_id


async def test_expired_holds_return_their_units_exactly_once_with_many_sweepers(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Guards against units left unsold, or returned twice, when holds time out."""
    offer_id = await open_offer(keeper, stock=50, per_user_limit=2, hold_seconds=1)
    for i in range(20):
        await keeper.reserve(offer_id, f"u{i}", 2, f"press-{i:04}")
    paid = await keeper.reserve(offer_id, "payer", 1, "press-pay1")
    assert paid.hold_id
    await keeper.confirm(paid.hold_id, "payer", "pay-1")
    await asyncio.sleep(1.1)
    results = await asyncio.gather(*(keeper.expire_due(offer_id) for _ in range(8)))
    assert sum(r.holds_expired for r in results) == 20
    assert sum(r.units_returned for r in results) == 40
    assert await assert_consistent(redis, offer_id) == {
        "total": 50,
        "available": 49,
        "held": 0,
        "sold": 1,
    }
    assert (await keeper.reserve(offer_id, "u0", 2, "press-again")).outcome == "reserved"


async def test_cancelling_an_overdue_hold_counts_as_expiry(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper, hold_seconds=1)
    held = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert held.hold_id
    await asyncio.sleep(1.1)
    assert (await keeper.cancel(held.hold_id, "u1")).outcome == "expired"
    assert (await keeper.get_hold(held.hold_id, "u1")).status == "expired"
    assert (await keeper.expire_due(offer_id)).units_returned == 0


async def test_presses_in_the_same_instant_share_one_step_and_keep_every_rule(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Presses merged into one script call still get one answer each, in order: a key
    sent twice in the same instant holds one unit, and the per-user limit holds."""
    offer_id = await open_offer(keeper, stock=5, per_user_limit=1)
    presses = [("u1", "press-0001"), ("u1", "press-0001"), ("u1", "press-0002")]
    presses += [(f"u{n}", f"press-{n:04}") for n in range(2, 10)]
    answers = await asyncio.gather(
        *(keeper.reserve(offer_id, user, 1, key) for user, key in presses)
    )
    outcomes = [a.outcome for a in answers]
    assert outcomes[:3] == ["reserved", "reserved", "limit_reached"]
    assert answers[1].replayed
    assert answers[1].hold_id == answers[0].hold_id
    assert outcomes[3:] == ["reserved"] * 4 + ["sold_out"] * 4
    assert (await assert_consistent(redis, offer_id))["held"] == 5
