"""The stock keeper's Lua scripts, called through their typed wrappers on real Redis."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from redis.asyncio import Redis

from stockkeeper.errors import (
    HoldAlreadyConfirmed,
    InsufficientStock,
    InvalidState,
    InvalidWindow,
    UnknownHold,
    UnknownOffer,
)
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.stock_events import watch_stock
from stockkeeper.sweeper import sweep_once

from .helpers import assert_consistent, open_offer, spec, wait_for


async def outbox(redis: Redis, offer_id: str) -> list[dict[str, str]]:
    entries = await redis.xrange(OfferKeys(offer_id).outbox)
    return [cast(dict[str, str], fields) for _, fields in entries or []]


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


async def test_the_sold_out_flag_answers_without_redis_and_clears_when_stock_returns(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Guards against a sold-out flag that is never cleared when stock comes back."""
    offer_id = await open_offer(keeper, stock=1)
    await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert keeper.sold_out.is_sold_out(offer_id)
    calls_before = (await redis.info("stats"))["total_commands_processed"]
    assert (await keeper.reserve(offer_id, "u2", 1, "press-0002")).outcome == "sold_out"
    calls_after = (await redis.info("stats"))["total_commands_processed"]
    assert calls_after - calls_before == 1  # just the INFO call itself
    await keeper.restock(offer_id, 1)
    assert not keeper.sold_out.is_sold_out(offer_id)
    assert (await keeper.reserve(offer_id, "u2", 1, "press-0003")).outcome == "reserved"


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
