"""Coupons when things go wrong: expired coupons and credit, credit busy with another
payment, payments that never become orders, and windows that close by themselves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from server.coupons.checkout import Checkout
from server.coupons.keys import ActivityKeys
from server.coupons.models import DropSpec, RainSpec
from server.coupons.repair import repair_once
from server.coupons.store import CouponStore
from server.coupons.wallet import wallet
from server.errors import Conflict, NotFound
from stockkeeper.errors import UnknownHold
from stockkeeper.keeper import StockKeeper

from .helpers import open_offer

ROOM = "room-1"


class Told:
    """A stand-in for the room publisher that keeps what it was asked to publish."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    async def publish(self, room_id: str, type_: str, data: dict[str, Any]) -> str:
        self.events.append((room_id, type_, data))
        return "0-0"


@pytest.fixture
def store(redis: Redis) -> CouponStore:
    return CouponStore(redis, None)


@pytest.fixture
def checkout(redis: Redis, keeper: StockKeeper, store: CouponStore) -> Checkout:
    return Checkout(redis, keeper, scripts=store.scripts)


async def claimed_coupon(store: CouponStore, user: str = "ann") -> tuple[str, str]:
    drop = await store.create_drop(ROOM, DropSpec("Five off", "amount", 500, quota=10))
    await store.start(drop)
    coupon = await store.claim(ROOM, drop.activity_id, user, "tap-00001")
    return drop.activity_id, coupon.item_id


async def test_an_expired_coupon_is_refused_and_shown_expired(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=5, unit_price=2000)
    drop_id, coupon = await claimed_coupon(store)
    await redis.hset(ActivityKeys(drop_id).info, "expires_at", 1)
    held = await keeper.reserve(offer_id, "ann", 1, "press-0001")
    with pytest.raises(Conflict) as refused:
        await checkout.confirm(str(held.hold_id), "ann", "psp-1", coupon)
    assert refused.value.code == "coupon_expired"
    mine = await wallet(redis, ROOM, "ann")
    assert mine["coupons"][0]["status"] == "expired"
    paid = await checkout.confirm(str(held.hold_id), "ann", "psp-1")
    assert paid.amount == 2000


async def test_credit_busy_with_another_payment_is_refused_and_nothing_is_booked(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper
) -> None:
    offer_id = await open_offer(keeper, stock=5, per_user_limit=5, unit_price=2000)
    rain = await store.create_rain(ROOM, RainSpec("Rain", 300, 1))
    await store.start(rain)
    packet = await store.grab(ROOM, rain.activity_id, "ann", "tap-00001")
    first = await keeper.reserve(offer_id, "ann", 1, "press-0001")
    second = await keeper.reserve(offer_id, "ann", 1, "press-0002")
    lock = await store.scripts.lock(
        ActivityKeys(rain.activity_id),
        packet.item_id,
        "ann",
        str(first.hold_id),
        "t1",
        30_000,
        ROOM,
    )
    assert lock.outcome == "locked"
    with pytest.raises(Conflict) as busy:
        await checkout.confirm(str(second.hold_id), "ann", "psp-2", use_credit=True)
    assert (busy.value.code, busy.value.retriable) == ("credit_in_use", True)
    hold = await keeper.get_hold(str(second.hold_id), "ann")
    assert hold.status == "held"


async def test_paying_for_an_unknown_hold_gives_the_coupon_back(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=5, unit_price=2000)
    drop_id, coupon = await claimed_coupon(store)
    bobs = await keeper.reserve(offer_id, "bob", 1, "press-0001")
    with pytest.raises(UnknownHold):
        await checkout.confirm(str(bobs.hold_id), "ann", "psp-1", coupon)
    item = await redis.hgetall(ActivityKeys(drop_id).item(coupon))
    assert item["status"] == "active"
    assert await redis.zcard(ActivityKeys(drop_id).locks) == 0


async def test_a_stale_lock_left_by_a_crash_is_settled_by_the_next_payment_itself(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper
) -> None:
    """Regression guard: a coupon locked by a payment that died must not stay unusable until
    the repairer's next round when its owner pays again."""
    offer_id = await open_offer(keeper, stock=5, per_user_limit=5, unit_price=2000)
    drop_id, coupon = await claimed_coupon(store)
    dead = await keeper.reserve(offer_id, "ann", 1, "press-0001")
    await store.scripts.lock(
        ActivityKeys(drop_id), coupon, "ann", str(dead.hold_id), "dead-token", 1, ROOM
    )
    await asyncio.sleep(0.01)
    held = await keeper.reserve(offer_id, "ann", 1, "press-0002")
    paid = await checkout.confirm(str(held.hold_id), "ann", "psp-2", coupon)
    assert (paid.discount, paid.amount) == (500, 1500)


async def test_a_window_that_passes_ends_the_drop_once_whoever_notices(
    redis: Redis, keeper: StockKeeper
) -> None:
    told = Told()
    stores = [CouponStore(redis, told), CouponStore(redis, told)]  # type: ignore[arg-type]
    drop = await stores[0].create_drop(ROOM, DropSpec("Soon over", "percent", 10, quota=5))
    await stores[0].start(drop)
    await redis.hset(ActivityKeys(drop.activity_id).info, "ends_at", 1)
    checkout = Checkout(redis, keeper)
    await asyncio.gather(*(repair_once(redis, s, checkout) for s in stores * 3))
    ended = [event for event in told.events if event[1] == "coupon_drop_ended"]
    assert len(ended) == 1
    assert ended[0][2]["drop_id"] == drop.activity_id
    with pytest.raises(Conflict) as late:
        await stores[0].claim(ROOM, drop.activity_id, "ann", "tap-00001")
    assert late.value.code == "claim_window_over"


async def test_a_claim_through_another_rooms_address_is_refused_even_merged_with_good_ones(
    store: CouponStore,
) -> None:
    """Regression guard: claims of one drop that arrive together share one script call; the
    room each came through is checked per claim, not taken from the first of the batch."""
    drop = await store.create_drop(ROOM, DropSpec("Five off", "amount", 500, quota=10))
    await store.start(drop)
    right = store.claim(ROOM, drop.activity_id, "ann", "tap-00001")
    wrong = store.claim("other-room", drop.activity_id, "bob", "tap-00002")
    answers = await asyncio.gather(right, wrong, return_exceptions=True)
    assert not isinstance(answers[0], BaseException)
    assert isinstance(answers[1], NotFound)
    assert answers[1].code == "unknown_drop"
