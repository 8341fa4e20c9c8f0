"""Hot offers split into buckets: the offer behaves as one, never oversells, keeps limits."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.appkeys import KEEPER
from stockkeeper.buckets import home_index, split_stock
from stockkeeper.errors import InsufficientStock
from stockkeeper.ids import offer_of_hold
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys, bucket_id
from stockkeeper.settings import StockSettings
from stockkeeper.sweeper import sweep_once

from .helpers import assert_consistent, open_offer, spec, viewer
from .room_helpers import create_offer, open_now


def users_of_bucket(index: int, count: int, how_many: int) -> list[str]:
    """User ids whose home is bucket ``index`` of ``count``."""
    users = (f"user-{n}" for n in range(100_000))
    return [u for u in users if home_index(u, count) == index][:how_many]


async def bucket_available(redis: Redis, offer_id: str, count: int) -> list[int]:
    return [
        int(await redis.hget(OfferKeys(bucket_id(offer_id, i)).offer, "available") or 0)
        for i in range(count)
    ]


async def give_without_take(keeper: StockKeeper, giver: str, receiver: str, units: int) -> str:
    """The first step of a move only, as when the process moving units dies after it."""
    g = OfferKeys(giver)
    transfer_id = "1700000000000-00000000deadbeef"
    reply = await keeper.scripts.bucket_give(
        keys=[g.offer, g.users, g.deadlines, g.transfers],
        args=[g.hold_prefix, transfer_id, units, receiver],
    )
    assert reply == ["given", units]
    return transfer_id


def test_stock_is_split_as_evenly_as_possible() -> None:
    assert split_stock(10, 4) == [3, 3, 2, 2]
    assert split_stock(3, 3) == [1, 1, 1]
    assert sum(split_stock(1_000_003, 8)) == 1_000_003


async def test_a_hot_offer_shows_as_one_offer_with_all_its_stock(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer = await keeper.create_offer(spec(stock=10, buckets=4))
    assert (offer.total, offer.available, offer.buckets) == (10, 10, 4)
    assert await bucket_available(redis, offer.id, 4) == [3, 3, 2, 2]
    assert [o.id for o in await keeper.room_offers("room-1")] == [offer.id]
    assert await keeper.offer_ids() >= {offer.id, f"{offer.id}.1", f"{offer.id}.3"}


async def test_every_buyer_reserves_in_the_same_home_bucket(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper, stock=40, buckets=4, per_user_limit=3)
    for user in ("ana", "bo", "chen", "dee", "eli"):
        for press in range(2):
            held = await keeper.reserve(offer_id, user, 1, f"press-{press}")
            assert held.hold_id
            found = offer_of_hold(held.hold_id)
            assert found == (offer_id, bucket_id(offer_id, home_index(user, 4)))


async def test_an_empty_home_bucket_is_refilled_from_the_others_until_all_are_sold(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4)
    # Every buyer's home is bucket 0, which starts with 2 of the 8 units.
    buyers = users_of_bucket(0, 4, 12)
    outcomes = [(await keeper.reserve(offer_id, u, 1, "press-1")).outcome for u in buyers]
    assert outcomes == ["reserved"] * 8 + ["sold_out"] * 4
    assert keeper.buckets.units_moved == 6
    assert await bucket_available(redis, offer_id, 4) == [0, 0, 0, 0]
    assert await assert_consistent(redis, offer_id) == {
        "total": 8,
        "available": 0,
        "held": 8,
        "sold": 0,
    }
    assert (await keeper.get_offer(offer_id)).held == 8


async def test_a_rush_on_one_bucket_is_refilled_for_all_its_presses_at_once(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Guards against "sold out" said to buyers while other buckets still have units: 40
    presses at once on a bucket of 5, with 25 more units in the other buckets."""
    offer_id = await open_offer(keeper, stock=30, buckets=6)
    buyers = users_of_bucket(0, 6, 40)
    answers = await asyncio.gather(
        *(keeper.reserve(offer_id, user, 1, "press-1") for user in buyers)
    )
    assert Counter(a.outcome for a in answers) == {"reserved": 30, "sold_out": 10}
    assert await bucket_available(redis, offer_id, 6) == [0] * 6
    assert (await assert_consistent(redis, offer_id))["held"] == 30


async def test_the_per_user_limit_is_exact_even_when_units_move(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4, per_user_limit=3)
    (greedy,) = users_of_bucket(2, 4, 1)
    answers = [await keeper.reserve(offer_id, greedy, 1, f"press-{n}") for n in range(6)]
    assert [a.outcome for a in answers] == ["reserved"] * 3 + ["limit_reached"] * 3
    assert answers[-1].units_already == 3
    # Bucket 2 had 2 units: the third came from another bucket, and no more than that.
    assert (await assert_consistent(redis, offer_id))["held"] == 3


async def test_a_retried_press_returns_the_first_hold_in_a_hot_offer(
    keeper: StockKeeper,
) -> None:
    offer_id = await open_offer(keeper, stock=4, buckets=4, per_user_limit=2)
    first = await keeper.reserve(offer_id, "ana", 1, "press-1")
    again = await keeper.reserve(offer_id, "ana", 1, "press-1")
    assert again.hold_id == first.hold_id
    assert again.replayed
    assert (await keeper.get_offer(offer_id)).available == 3


async def test_two_processes_storming_a_hot_offer_hold_exactly_its_stock(
    keeper: StockKeeper, redis: Redis, stock_settings: StockSettings
) -> None:
    """Guards against a unit sold twice while buckets hand units to each other."""
    other = StockKeeper(redis, stock_settings)
    await other.start()
    offer_id = await open_offer(keeper, stock=100, buckets=8, per_user_limit=2)
    presses = [(f"buyer-{n % 600}", n) for n in range(1500)]
    answers = await asyncio.gather(
        *(
            (keeper if n % 2 else other).reserve(offer_id, user, 1, f"press-{n}")
            for user, n in presses
        )
    )
    await other.close()
    winners = Counter(user for (user, _), a in zip(presses, answers, strict=True) if a.hold_id)
    assert sum(winners.values()) == 100
    assert max(winners.values()) <= 2
    assert {a.outcome for a in answers} <= {"reserved", "sold_out", "limit_reached"}
    assert await assert_consistent(redis, offer_id) == {
        "total": 100,
        "available": 0,
        "held": 100,
        "sold": 0,
    }


async def test_a_move_cut_off_after_the_giving_step_is_finished_by_the_sweeper(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4)
    giver, receiver = bucket_id(offer_id, 1), bucket_id(offer_id, 0)
    await give_without_take(keeper, giver, receiver, 2)
    # Off sale for the moment, but still the offer's: not lost, not on sale twice.
    assert await bucket_available(redis, offer_id, 4) == [2, 0, 2, 2]
    assert (await keeper.get_offer(offer_id)).total == 8
    await sweep_once(keeper)
    await sweep_once(keeper)
    assert await bucket_available(redis, offer_id, 4) == [4, 0, 2, 2]
    assert await redis.hget(OfferKeys(giver).offer, "sent_pending") == "0"
    assert await assert_consistent(redis, offer_id) == {
        "total": 8,
        "available": 8,
        "held": 0,
        "sold": 0,
    }


async def test_a_move_cut_off_before_it_was_settled_is_not_delivered_twice(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4)
    giver, receiver = bucket_id(offer_id, 3), bucket_id(offer_id, 0)
    transfer_id = await give_without_take(keeper, giver, receiver, 1)
    r = OfferKeys(receiver)
    taken = await keeper.scripts.bucket_take(keys=[r.offer, r.received], args=[transfer_id, 1])
    assert taken == ["taken", 3]
    await sweep_once(keeper)
    assert await bucket_available(redis, offer_id, 4) == [3, 2, 2, 1]
    assert (await assert_consistent(redis, offer_id))["total"] == 8


async def test_opening_pausing_and_closing_apply_to_every_bucket(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4)
    windows = {
        tuple(await redis.hmget(OfferKeys(bucket_id(offer_id, i)).offer, "opens_at", "closes_at"))
        for i in range(4)
    }
    assert len(windows) == 1
    users = [users_of_bucket(i, 4, 1)[0] for i in range(4)]
    await keeper.pause_offer(offer_id)
    assert {(await keeper.reserve(offer_id, u, 1, "p1")).outcome for u in users} == {"paused"}
    await keeper.resume_offer(offer_id)
    assert {(await keeper.reserve(offer_id, u, 1, "p2")).outcome for u in users} == {"reserved"}
    await keeper.close_offer(offer_id)
    assert {(await keeper.reserve(offer_id, u, 1, "p3")).outcome for u in users} == {"closed"}


async def test_a_bucket_left_behind_by_a_failed_request_is_brought_in_line(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4)
    await keeper.pause_offer(offer_id)
    # As if the request died after pausing bucket 0 and before reaching bucket 2.
    await redis.hset(OfferKeys(bucket_id(offer_id, 2)).offer, "state", "open")
    await sweep_once(keeper)
    (user,) = users_of_bucket(2, 4, 1)
    assert (await keeper.reserve(offer_id, user, 1, "press-1")).outcome == "paused"


async def test_restock_and_pull_work_on_the_offer_as_a_whole(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4)
    assert (await keeper.restock(offer_id, 4)).total == 12
    level = await keeper.pull_stock(offer_id, 10)
    assert (level.available, level.total) == (2, 2)
    with pytest.raises(InsufficientStock):
        await keeper.pull_stock(offer_id, 3)
    # A pull that cannot be done whole takes nothing.
    assert await assert_consistent(redis, offer_id) == {
        "total": 2,
        "available": 2,
        "held": 0,
        "sold": 0,
    }


async def test_a_late_payment_takes_a_unit_from_another_bucket(
    keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=4, buckets=4, hold_seconds=1)
    (late, rival) = users_of_bucket(1, 4, 2)
    held = await keeper.reserve(offer_id, late, 1, "press-1")
    assert held.hold_id
    await asyncio.sleep(1.1)
    await sweep_once(keeper)
    # Bucket 1's unit is resold; others still have units.
    assert (await keeper.reserve(offer_id, rival, 1, "press-1")).outcome == "reserved"
    order = await keeper.confirm(held.hold_id, late, "pay-late")
    assert (order.outcome, order.late) == ("confirmed", True)
    outbox = await redis.xrange(OfferKeys(bucket_id(offer_id, 1)).outbox) or []
    entries = [cast(dict[str, str], fields) for _, fields in outbox]
    assert [(e["type"], e["offer_id"]) for e in entries] == [("order_confirmed", offer_id)]
    assert await assert_consistent(redis, offer_id) == {
        "total": 4,
        "available": 2,
        "held": 1,
        "sold": 1,
    }


async def test_buyers_of_every_bucket_count_on_the_report(keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper, stock=8, buckets=4)
    users = [users_of_bucket(i, 4, 1)[0] for i in range(4)]
    for user in users:
        held = await keeper.reserve(offer_id, user, 1, "press-1")
        assert held.hold_id
        await keeper.confirm(held.hold_id, user, f"pay-{user}")
    offer = await keeper.get_offer(offer_id)
    assert (offer.sold, offer.orders, offer.reservations) == (4, 4, 4)
    assert await keeper.buyers([offer]) == set(users)


async def test_units_in_transit_between_two_buckets_are_waited_for_not_called_sold_out(
    keeper: StockKeeper, redis: Redis
) -> None:
    """Guards against a last unit that nobody can buy because the offer was called sold
    out while the unit was moving between two other buckets."""
    offer_id = await open_offer(keeper, stock=3, buckets=3)
    giver, receiver = bucket_id(offer_id, 1), bucket_id(offer_id, 2)
    for user in users_of_bucket(0, 3, 1) + users_of_bucket(2, 3, 1):
        assert (await keeper.reserve(offer_id, user, 1, "press-1")).outcome == "reserved"
    transfer_id = await give_without_take(keeper, giver, receiver, 1)
    assert await bucket_available(redis, offer_id, 3) == [0, 0, 0]

    async def land_later() -> None:
        await asyncio.sleep(0.02)  # the refill waits up to 0.2 s
        await keeper.buckets.finish_transfers(giver)

    (late_buyer,) = users_of_bucket(0, 3, 2)[1:]
    landing = asyncio.create_task(land_later())
    result = await keeper.reserve(offer_id, late_buyer, 1, "press-1")
    await landing
    assert result.outcome == "reserved"
    assert transfer_id
    assert not keeper.sold_out.is_sold_out(offer_id)
    assert await assert_consistent(redis, offer_id) == {
        "total": 3,
        "available": 0,
        "held": 3,
        "sold": 0,
    }


async def test_a_press_on_a_buckets_own_id_is_an_unknown_offer_even_once_it_is_known(
    client: TestClient[web.Request, web.Application],
) -> None:
    """Guards a buyer taking the per-person limit once per bucket: a bucket's hash ("7.1")
    has an id and a bucket count as the offer's has, and the ban check reads it (so this
    process then knows it); a press on it must still be refused, not held in that bucket."""
    offer = await create_offer(client, stock=8, buckets=4, per_user_limit=1)
    await open_now(client, offer["id"])
    (buyer,) = users_of_bucket(0, 4, 1)
    answers = []
    for target in (offer["id"], f"{offer['id']}.1", f"{offer['id']}.1", f"{offer['id']}.2"):
        resp = await client.post(
            f"/api/offers/{target}/reservations",
            json={"idempotency_key": f"press-{buyer}-{target}"},
            headers=viewer(buyer),
        )
        answers.append((resp.status, (await resp.json()).get("error", {}).get("code")))
    assert answers == [
        (201, None),
        (404, "unknown_offer"),
        (404, "unknown_offer"),
        (404, "unknown_offer"),
    ]
    keeper = client.app[KEEPER]
    assert keeper.buckets.known_count(f"{offer['id']}.1") is not None  # read by the ban check
    assert (await keeper.reserve(f"{offer['id']}.1", buyer, 1, "press-direct")).outcome == (
        "unknown_offer"
    )
