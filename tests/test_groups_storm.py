"""Group buying under load and at its edges, on the real Redis and Kafka: the storm of
3,000 viewers on stock 300, the last seat taken twice at once, and formation racing
failure at the window's end."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import cast

from redis.asyncio import Redis

from stockkeeper.groups import Group
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import GroupKeys, OfferKeys
from stockkeeper.scripts.groups import JoinReply
from stockkeeper.settings import StockSettings

from .group_helpers import (
    end_window,
    group_offer,
    join,
    member_ids,
    orders_and_refunds,
    outbox_entries,
    start,
)
from .relay_helpers import drain

VIEWERS = 3000
STOCK = 300
SIZE = 3
#: Viewers pressing at once (within the test client's Redis connections).
WAVE = 100


async def take_a_seat(
    keeper: StockKeeper, offer_id: str, listed: list[Group], user: str, rng: random.Random
) -> None:
    """What one viewer does: join one of the open groups closest to full that the room
    shows (``listed``), or start one when none has a seat or the seat was lost; pay two
    times out of three."""
    reply: JoinReply | None = None
    if listed and rng.random() < 0.8:
        target = rng.choice(listed[:5])
        reply = await join(keeper, target.id, user)
        if reply.outcome not in ("joined", "group_full", "group_failed", "sold_out"):
            raise AssertionError(reply)
    if reply is None or reply.outcome in ("group_full", "group_failed"):
        reply = await start(keeper, offer_id, user)
        assert reply.outcome in ("joined", "sold_out"), reply
    if reply.outcome == "joined" and rng.random() < 2 / 3:
        paid = await keeper.confirm(str(reply.hold_id), user, f"psp-{user}")
        assert paid.outcome in ("paid", "confirmed"), paid


async def test_a_storm_of_3000_viewers_on_stock_300_forms_only_full_groups_and_kafka_agrees(
    keeper: StockKeeper, redis: Redis, stock_settings: StockSettings
) -> None:
    offer_id = await group_offer(keeper, size=SIZE, stock=STOCK, price=1500)
    rng = random.Random(15)
    users = [f"v{n:04}" for n in range(VIEWERS)]
    for wave in range(0, VIEWERS, WAVE):
        listed = await keeper.groups.open_groups(offer_id)
        await asyncio.gather(
            *(
                take_a_seat(keeper, offer_id, listed, user, rng)
                for user in users[wave : wave + WAVE]
            )
        )
        offer = await keeper.get_offer(offer_id)
        assert offer.held + offer.sold <= STOCK, "units held or sold never exceed stock"
        assert offer.available >= 0

    groups = await keeper.groups.of_offer(offer_id)
    formed = [g for g in groups if g.state == "formed"]
    forming = [g for g in groups if g.state == "forming"]
    assert formed, "the storm formed groups"
    assert all(len(g.members) == SIZE for g in formed), "every formed group has exactly N"
    assert all(len(g.members) < SIZE for g in forming)
    seats = Counter(user for g in groups for user in member_ids(g))
    assert [u for u, n in seats.items() if n > 1] == [], "no viewer in two groups"

    # The window ends for the groups still forming: several sweepers fail each once.
    for g in forming:
        await end_window(keeper, offer_id, g.id)
    replies = await asyncio.gather(*(keeper.groups.fail_due(offer_id) for _ in range(4)))
    assert sorted(f for r in replies for f in r.failed) == sorted(g.id for g in forming)

    after = await keeper.groups.of_offer(offer_id)
    failed = [g for g in after if g.state == "failed"]
    assert len(failed) == len(forming)
    assert failed, "some groups were still forming when their window ended"
    holds = await hold_statuses(redis, offer_id, after)
    paid_formed = {
        h
        for g in formed
        for u in member_ids(g)
        if holds[(g.id, u)][0] == "confirmed"
        for h in [holds[(g.id, u)][1]]
    }
    unpaid_formed = sum(1 for g in formed for u in member_ids(g) if holds[(g.id, u)][0] == "held")
    refunded = {
        holds[(g.id, u)][1]
        for g in failed
        for u in member_ids(g)
        if holds[(g.id, u)][0] == "refunded"
    }
    assert all(
        holds[(g.id, u)][0] in ("refunded", "expired") for g in failed for u in member_ids(g)
    )

    offer = await keeper.get_offer(offer_id)
    assert offer.sold == len(paid_formed)
    assert offer.held == unpaid_formed, "every failed group's units are back"
    assert offer.available == STOCK - offer.sold - offer.held

    assert paid_formed
    assert refunded
    assert offer.sold + offer.held + sum(len(g.members) for g in failed) >= STOCK - 3, (
        "the storm sold out the stock (up to one group's seats)"
    )
    await drain(redis, stock_settings, "groups-storm")
    orders, refunds = await orders_and_refunds(stock_settings, len(paid_formed), len(refunded))
    assert sorted(o["order_id"] for o in orders) == sorted(f"o{h}" for h in paid_formed)
    assert all(o["group_id"] in {g.id for g in formed} for o in orders)
    assert all((o["unit_price"], o["compare_at_price"]) == (1500, 1999) for o in orders)
    assert sorted(r["hold_id"] for r in refunds) == sorted(refunded)
    assert all((r["reason"], r["amount"]) == ("group_failed", 1500) for r in refunds)
    assert {r["group_id"] for r in refunds} <= {g.id for g in failed}


async def hold_statuses(
    redis: Redis, offer_id: str, groups: list[Group]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(group, member) -> (hold status, hold id) for every seat of these groups."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for group in groups:
        seats = cast(dict[str, str], await redis.hgetall(GroupKeys(offer_id).seats(group.id)))
        for user in member_ids(group):
            hold_id = seats[user]
            status = await redis.hget(OfferKeys(offer_id).hold(hold_id), "status")
            found[(group.id, user)] = (str(status), hold_id)
    return found


async def test_the_last_seat_taken_by_two_at_once_goes_to_one_the_other_hears_group_full(
    keeper: StockKeeper,
) -> None:
    offer_id = await group_offer(keeper, size=3, stock=10)
    for attempt in range(10):
        first = await start(keeper, offer_id, f"a{attempt}")
        assert first.group_id
        await join(keeper, first.group_id, f"b{attempt}")
        one, other = await asyncio.gather(
            join(keeper, first.group_id, f"c{attempt}"), join(keeper, first.group_id, f"d{attempt}")
        )
        assert sorted([one.outcome, other.outcome]) == ["group_full", "joined"]
        loser = f"d{attempt}" if one.outcome == "joined" else f"c{attempt}"
        group = await keeper.groups.get(first.group_id)
        assert group is not None
        assert group.state == "formed"
        assert len(group.members) == 3
        # The loser holds nothing and may start a new group.
        assert (await start(keeper, offer_id, loser)).outcome in ("joined", "sold_out")
        await keeper.restock(offer_id, 4)


async def test_formation_and_failure_racing_at_the_window_end_have_one_outcome(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Guards against a group both formed (orders written) and failed (refunds written)
    when its last member joins as its window ends."""
    offer_id = await group_offer(keeper, size=2, stock=200)
    outcomes: Counter[str] = Counter()
    for attempt in range(40):
        first = await start(keeper, offer_id, f"s{attempt}")
        assert first.group_id
        assert first.hold_id
        await keeper.confirm(first.hold_id, f"s{attempt}", f"psp-s{attempt}")
        # The window ends a few milliseconds from now, by Redis's clock.
        now_ms = int((await redis.time())[0]) * 1000 + int((await redis.time())[1]) // 1000
        ends_at = now_ms + attempt % 8
        await redis.hset(GroupKeys(offer_id).group(first.group_id), "ends_at", ends_at)
        await redis.zadd(GroupKeys(offer_id).forming, {first.group_id: ends_at})

        async def sweep_until_settled(group_id: str = first.group_id) -> None:
            for _ in range(40):
                await keeper.groups.fail_due(offer_id)
                group = await keeper.groups.get(group_id)
                if group is not None and group.state != "forming":
                    return
                await asyncio.sleep(0.001)

        joined, _ = await asyncio.gather(
            join(keeper, first.group_id, f"j{attempt}"), sweep_until_settled()
        )
        group = await keeper.groups.get(first.group_id)
        assert group is not None
        outcomes[group.state] += 1
        entries = [
            fields
            for fields in await outbox_entries(redis, offer_id)
            if fields.get("group_id") == first.group_id
        ]
        kinds = sorted(f["type"] for f in entries)
        if group.state == "formed":
            assert joined.outcome == "joined"
            assert kinds == ["order_confirmed"], "formed: the paid member's order, no refund"
        else:
            assert group.state == "failed"
            assert joined.outcome == "group_failed"
            assert kinds == ["refund_due"], "failed: a refund, never an order"
    offer = await keeper.get_offer(offer_id)
    assert offer.available + offer.held + offer.sold == 200
