"""Group buying in the stock keeper (stockkeeper/groups.py, scripts/group_*.lua), on the
real Redis: starting and joining, formation, payment before and after it, failure at the
window's end, seats freed by lapsed holds, and the refusals."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import cast

from redis.asyncio import Redis
from redis.crc import key_slot

from stockkeeper.errors import StockKeeperError
from stockkeeper.groups import sweep_groups_once
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import GroupKeys, OfferKeys
from stockkeeper.scripts.groups import (
    group_cancel,
    group_confirm,
    group_fail,
    group_join,
    group_setup,
)
from stockkeeper.scripts.registry import Scripts

from .group_helpers import end_window, group_offer, join, member_ids, outbox_entries, start
from .helpers import open_offer


async def outbox_types(redis: Redis, offer_id: str) -> list[str]:
    return [fields["type"] for fields in await outbox_entries(redis, offer_id)]


async def test_a_viewer_starts_a_group_and_holds_one_unit_at_the_group_price(
    keeper: StockKeeper,
) -> None:
    offer_id = await group_offer(keeper, stock=5)
    started = await start(keeper, offer_id, "ann")
    assert started.outcome == "joined"
    assert started.group_id
    assert started.group_id.startswith(f"{offer_id}-")
    assert started.hold_id
    assert "-g" in started.hold_id
    assert (started.members, started.size, started.state) == (1, 3, "forming")
    offer = await keeper.get_offer(offer_id)
    assert (offer.available, offer.held, offer.group_size, offer.group_price) == (4, 1, 3, 1500)
    group = await keeper.groups.get(started.group_id)
    assert group is not None
    assert member_ids(group) == ["ann"]
    assert group.members[0].name == "Name ann"
    assert group.seats_left == 2


async def test_the_nth_member_forms_the_group_and_paid_members_orders_reach_the_outbox(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await group_offer(keeper, stock=5)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    assert first.hold_id
    paid = await keeper.confirm(first.hold_id, "ann", "psp-ann")
    assert paid.outcome == "paid"
    assert paid.order_id == f"o{first.hold_id}"
    assert await outbox_types(redis, offer_id) == [], "no order before the group forms"
    second = await join(keeper, first.group_id, "bob")
    assert second.state == "forming"
    assert second.members == 2
    third = await join(keeper, first.group_id, "cat")
    assert (third.state, third.members, third.orders_written) == ("formed", 3, 1)
    entries = await outbox_entries(redis, offer_id)
    assert len(entries) == 1
    order = entries[0]
    assert order["type"] == "order_confirmed"
    assert order["group_id"] == first.group_id
    assert (order["user_id"], order["unit_price"], order["amount"]) == ("ann", "1500", "1500")
    assert order["compare_at_price"] == "1999", "a group order compares with the price alone"
    # Members paying after formation get their order at payment.
    bob = await keeper.confirm(str(second.hold_id), "bob", "psp-bob")
    assert bob.outcome == "confirmed"
    assert bob.group_id == first.group_id
    assert await outbox_types(redis, offer_id) == ["order_confirmed", "order_confirmed"]
    offer = await keeper.get_offer(offer_id)
    assert (offer.sold, offer.held, offer.available) == (2, 1, 2)


async def test_paying_twice_while_the_group_forms_gives_the_same_answer_and_one_order(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await group_offer(keeper, size=2)
    first = await start(keeper, offer_id, "ann")
    assert first.hold_id
    assert first.group_id
    once = await keeper.confirm(first.hold_id, "ann", "psp-1")
    again = await keeper.confirm(first.hold_id, "ann", "psp-1")
    assert (once.outcome, again.outcome, again.replayed) == ("paid", "paid", True)
    other = await keeper.confirm(first.hold_id, "ann", "psp-2")
    assert other.outcome == "already_confirmed"
    assert other.refund_due
    await join(keeper, first.group_id, "bob")
    kinds = await outbox_types(redis, offer_id)
    assert sorted(kinds) == ["order_confirmed", "refund_due"]


async def test_a_group_whose_window_ends_fails_once_refunding_paid_members(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await group_offer(keeper, stock=5)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    assert first.hold_id
    await join(keeper, first.group_id, "bob")
    await keeper.confirm(first.hold_id, "ann", "psp-ann")
    await end_window(keeper, offer_id, first.group_id)
    # Several sweepers at once: the group fails exactly once.
    replies = await asyncio.gather(*(keeper.groups.fail_due(offer_id) for _ in range(5)))
    assert sum(len(r.failed) for r in replies) == 1
    assert sum(r.units_returned for r in replies) == 2
    assert sum(r.refunds for r in replies) == 1
    offer = await keeper.get_offer(offer_id)
    assert (offer.available, offer.held, offer.sold) == (5, 0, 0)
    entries = await outbox_entries(redis, offer_id)
    assert [(f["type"], f["reason"], f["user_id"]) for f in entries] == [
        ("refund_due", "group_failed", "ann")
    ]
    group = await keeper.groups.get(first.group_id)
    assert group is not None
    assert group.state == "failed"
    # The members are free to start again.
    again = await start(keeper, offer_id, "bob")
    assert again.outcome == "joined"
    assert again.group_id != first.group_id


async def test_a_payment_after_the_group_failed_is_owed_back_and_never_an_order(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await group_offer(keeper)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    assert first.hold_id
    await end_window(keeper, offer_id, first.group_id)
    await keeper.groups.fail_due(offer_id)
    late = await keeper.confirm(first.hold_id, "ann", "psp-late")
    assert late.outcome == "group_failed"
    assert late.refund_due
    assert (await keeper.confirm(first.hold_id, "ann", "psp-late")).outcome == "group_failed"
    entries = await outbox_entries(redis, offer_id)
    assert [(f["type"], f["reason"]) for f in entries] == [("refund_due", "group_failed")]


async def test_joining_refusals_unknown_formed_failed_in_a_group_already_holding(
    keeper: StockKeeper,
) -> None:
    offer_id = await group_offer(keeper, size=2, stock=10, per_user_limit=2)
    assert (await keeper.groups.join(f"{offer_id}-000000000000", "x", "X", "k-x-1")).outcome == (
        "unknown_group"
    )
    assert (await keeper.groups.join("not-a-group", "x", "X", "k-x-2")).outcome == "unknown_group"
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    again = await keeper.groups.start(offer_id, "ann", "Ann", "another-key")
    assert again.outcome == "already_in_group"
    assert again.group_id == first.group_id
    assert (await join(keeper, first.group_id, "bob")).state == "formed"
    full = await join(keeper, first.group_id, "cat")
    assert full.outcome == "group_full"
    held = await keeper.reserve(offer_id, "dan", 1, "press-dan-1")
    assert held.outcome == "reserved"
    assert (await start(keeper, offer_id, "dan")).outcome == "already_holding"
    failing = await start(keeper, offer_id, "eve")
    assert failing.group_id
    await end_window(keeper, offer_id, failing.group_id)
    assert (await join(keeper, failing.group_id, "fay")).outcome == "group_failed"
    await keeper.groups.fail_due(offer_id)
    assert (await join(keeper, failing.group_id, "fay")).outcome == "group_failed"
    plain = await open_offer(keeper)
    assert (await start(keeper, plain, "gus")).outcome == "not_group_offer"


async def test_a_retried_join_with_the_same_key_returns_the_same_seat(keeper: StockKeeper) -> None:
    offer_id = await group_offer(keeper)
    first = await start(keeper, offer_id, "ann")
    retried = await start(keeper, offer_id, "ann")
    assert retried.replayed
    assert retried.hold_id == first.hold_id
    assert retried.group_id == first.group_id
    offer = await keeper.get_offer(offer_id)
    assert offer.held == 1


async def test_a_lapsed_unpaid_member_frees_the_seat_and_the_unit_before_formation(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await group_offer(keeper, stock=5)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    bob = await join(keeper, first.group_id, "bob")
    assert bob.hold_id
    await redis.zadd(OfferKeys(offer_id).deadlines, {bob.hold_id: 1})
    await redis.hset(OfferKeys(offer_id).hold(bob.hold_id), "deadline", 1)
    expired = await keeper.expire_due(offer_id)
    assert expired.units_returned == 1
    group = await keeper.groups.get(first.group_id)
    assert group is not None
    assert member_ids(group) == ["ann"]
    assert group.seats_left == 2
    swept = await keeper.groups.fail_due(offer_id)
    assert swept.left == (first.group_id,)
    assert swept.failed == ()
    assert (await keeper.groups.fail_due(offer_id)).left == (), "each change handed over once"
    # Bob may come back (to this group or another); the group forms with live seats only.
    assert (await keeper.groups.join(first.group_id, "bob", "Bob", "bob-again")).members == 2
    assert (await join(keeper, first.group_id, "cat")).state == "formed"


async def test_a_member_cancelling_before_formation_leaves_the_group(keeper: StockKeeper) -> None:
    offer_id = await group_offer(keeper, stock=5)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    bob = await join(keeper, first.group_id, "bob")
    cancelled = await keeper.cancel(str(bob.hold_id), "bob")
    assert cancelled.outcome == "cancelled"
    group = await keeper.groups.get(first.group_id)
    assert group is not None
    assert member_ids(group) == ["ann"]
    assert (await keeper.get_offer(offer_id)).available == 4


async def test_group_terms_are_refused_on_hot_offers_and_at_or_above_the_price(
    keeper: StockKeeper,
) -> None:
    hot = await open_offer(keeper, stock=20, buckets=4)
    refused = await keeper.groups.setup(hot, price=100, size=3, window_s=600, open_groups=True)
    assert refused.outcome == "hot_offer"
    offer_id = await open_offer(keeper)
    same = await keeper.groups.setup(offer_id, price=1999, size=3, window_s=600, open_groups=True)
    assert same.outcome == "price_not_lower"
    await keeper.groups.setup(offer_id, price=1000, size=3, window_s=600, open_groups=True)
    await start(keeper, offer_id, "ann")
    changed = await keeper.groups.setup(offer_id, price=900, size=3, window_s=600, open_groups=True)
    assert changed.outcome == "groups_started"


async def test_open_groups_are_listed_closest_to_full_first(keeper: StockKeeper) -> None:
    offer_id = await group_offer(keeper, size=4, stock=20)
    lonely = await start(keeper, offer_id, "ann")
    busy = await start(keeper, offer_id, "bob")
    assert busy.group_id
    assert lonely.group_id
    await join(keeper, busy.group_id, "cat")
    await join(keeper, busy.group_id, "dan")
    listed = await keeper.groups.open_groups(offer_id)
    assert [g.id for g in listed] == [busy.group_id, lonely.group_id]
    assert [g.seats_left for g in listed] == [1, 3]


async def test_the_sweep_walks_every_group_offer(keeper: StockKeeper) -> None:
    offer_id = await group_offer(keeper)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    await end_window(keeper, offer_id, first.group_id)
    summed = await sweep_groups_once(keeper.groups)
    assert summed is not None
    assert summed.failed == (first.group_id,)
    assert await keeper.redis.zcard(GroupKeys(offer_id).forming) == 0


async def test_the_sweep_stops_walking_a_closed_offer_once_no_group_forms(
    keeper: StockKeeper,
) -> None:
    offer_id = await group_offer(keeper)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    await keeper.close_offer(offer_id)
    await keeper.groups.fail_due(offer_id)
    assert offer_id in await keeper.groups.offers(), "a group still forms: keep sweeping"
    await end_window(keeper, offer_id, first.group_id)
    assert (await keeper.groups.fail_due(offer_id)).failed == (first.group_id,)
    await keeper.groups.fail_due(offer_id)
    assert offer_id not in await keeper.groups.offers()


async def test_units_back_from_a_failed_group_sell_again_at_once(keeper: StockKeeper) -> None:
    """Guards against sold-out flags staying up after a failed group gave its units back:
    the failure announces the stock on the stock channel, as expired holds do, so every
    process lowers its flag."""
    offer_id = await group_offer(keeper, stock=2)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    await join(keeper, first.group_id, "bob")
    assert (await keeper.reserve(offer_id, "carl", 1, "press-carl-1")).outcome == "sold_out"
    assert keeper.sold_out.is_sold_out(offer_id)
    await end_window(keeper, offer_id, first.group_id)
    await keeper.groups.fail_due(offer_id)
    assert not keeper.sold_out.is_sold_out(offer_id)
    assert (await keeper.reserve(offer_id, "carl", 1, "press-carl-2")).outcome == "reserved"


async def test_a_start_that_draws_a_taken_group_id_draws_again(keeper: StockKeeper) -> None:
    """Guards against a new group overwriting another that drew the same random id."""
    offer_id = await group_offer(keeper, stock=5)
    keeper.groups._ids = random.Random(15)
    first = await start(keeper, offer_id, "ann")
    keeper.groups._ids = random.Random(15)  # the same draws again
    second = await start(keeper, offer_id, "bob")
    assert second.outcome == "joined"
    assert second.group_id != first.group_id
    assert first.group_id
    group = await keeper.groups.get(first.group_id)
    assert group is not None
    assert member_ids(group) == ["ann"]


class KeyRecorder:
    """Stands in for the script runner: records the keys each group script is sent."""

    def __init__(self, fail_script: object) -> None:
        self.keys: list[list[str]] = []
        self.fail_script = fail_script

    async def run(self, script: object, keys: list[str], args: list[object]) -> object:
        self.keys.append(list(keys))
        if script is self.fail_script:
            return [[], [], 0, 0, 0, "", 0, ""]
        return ["unknown_hold"]


async def test_every_group_script_touches_one_cluster_slot(keeper: StockKeeper) -> None:
    gs = keeper.groups.scripts
    recorder = KeyRecorder(gs.group_fail)
    runner = cast(Scripts, recorder)
    with contextlib.suppress(StockKeeperError):
        await group_join(
            runner,
            gs,
            "42",
            "42-0123456789ab",
            start=False,
            user_id="u",
            name="U",
            hold_id="42-g0123456789abcdef",
            idempotency_key="k" * 8,
            idempotency_ttl_s=60,
        )
    with contextlib.suppress(StockKeeperError):
        await group_setup(runner, gs, "42", 1, 3, 60_000, True)
    await group_confirm(runner, gs, "42", "42-g0123456789abcdef", "u", "psp")
    await group_fail(runner, gs, "42", 10)
    await group_cancel(runner, gs, "42", "42-g0123456789abcdef", "u")
    slots = {key_slot(key.encode()) for keys in recorder.keys for key in keys}
    assert len(recorder.keys) == 5
    assert slots == {key_slot(b"{offer:42}")}


async def test_a_join_on_a_sold_out_offer_takes_back_a_lapsed_members_unit_and_seat(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await group_offer(keeper, stock=2)
    first = await start(keeper, offer_id, "ann")
    assert first.group_id
    bob = await join(keeper, first.group_id, "bob")
    assert bob.hold_id
    await redis.zadd(OfferKeys(offer_id).deadlines, {bob.hold_id: 1})
    await redis.hset(OfferKeys(offer_id).hold(bob.hold_id), "deadline", 1)
    cat = await join(keeper, first.group_id, "cat")
    assert (cat.outcome, cat.state, cat.members) == ("joined", "forming", 2)
    group = await keeper.groups.get(first.group_id)
    assert group is not None
    assert member_ids(group) == ["ann", "cat"]
    offer = await keeper.get_offer(offer_id)
    assert (offer.available, offer.held) == (0, 2)
