"""Coupon drops and red packet rains on real Redis, straight on the domain and its scripts:
storms of claims and grabs, paying with coupons and credit, and repairs after a crash."""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from server.coupons.checkout import Checkout, Lock
from server.coupons.keys import ActivityKeys
from server.coupons.models import DropSpec, RainSpec
from server.coupons.repair import repair_once
from server.coupons.split import double_mean
from server.coupons.store import CouponStore
from server.errors import Conflict, NotFound
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import ConfirmResult

from .helpers import open_offer

ROOM = "room-1"


@pytest.fixture
def store(redis: Redis) -> CouponStore:
    return CouponStore(redis, None)


@pytest.fixture
def checkout(redis: Redis, keeper: StockKeeper) -> Checkout:
    return Checkout(redis, keeper)


async def live_drop(store: CouponStore, **terms: Any) -> str:
    fields: dict[str, Any] = {"title": "Ten off", "off_kind": "amount", "off_value": 1000}
    fields["quota"] = 100
    fields.update(terms)
    drop = await store.create_drop(ROOM, DropSpec(**fields))
    await store.start(drop)
    return drop.activity_id


async def live_rain(store: CouponStore, pool: int, packets: int) -> str:
    rain = await store.create_rain(ROOM, RainSpec("Rain", pool, packets))
    await store.start(rain)
    return rain.activity_id


def test_double_mean_splits_the_pool_exactly_with_every_packet_at_least_one() -> None:
    rng = random.Random(7)
    for pool, packets in [(500, 500), (501, 500), (10_000, 3), (1, 1), (99_999, 10_000)]:
        amounts = double_mean(pool, packets, rng)
        assert len(amounts) == packets
        assert sum(amounts) == pool
        assert min(amounts) >= 1


async def test_2000_viewers_claiming_a_quota_of_100_get_exactly_100_coupons_nobody_twice(
    store: CouponStore, redis: Redis
) -> None:
    drop_id = await live_drop(store, quota=100)

    async def claim(n: int) -> str:
        try:
            return (await store.claim(ROOM, drop_id, f"v{n}", f"key-{n:06d}")).item_id
        except Conflict as refused:
            return refused.code

    got = await asyncio.gather(*(claim(n) for n in range(2000)))
    coupons = [c for c in got if "." in c]
    assert got.count("drop_exhausted") == 1900
    assert len(coupons) == 100 == len(set(coupons))
    owners = await redis.hgetall(ActivityKeys(drop_id).claims)
    assert len(owners) == 100
    assert set(owners.values()) == {"1"}
    assert (await store.require(ROOM, drop_id)).number("claimed") == 100


async def test_a_retried_claim_answers_the_same_coupon_and_a_new_one_is_refused(
    store: CouponStore,
) -> None:
    drop_id = await live_drop(store)
    first = await store.claim(ROOM, drop_id, "ann", "press-0001")
    again = await store.claim(ROOM, drop_id, "ann", "press-0001")
    assert again.item_id == first.item_id
    assert again.replayed
    assert not first.replayed
    with pytest.raises(Conflict) as refused:
        await store.claim(ROOM, drop_id, "ann", "press-0002")
    assert refused.value.code == "already_claimed"


async def test_claims_per_viewer_allow_that_many_coupons(store: CouponStore) -> None:
    drop_id = await live_drop(store, per_viewer=2)
    a = await store.claim(ROOM, drop_id, "ann", "press-0001")
    b = await store.claim(ROOM, drop_id, "ann", "press-0002")
    assert a.item_id != b.item_id
    with pytest.raises(Conflict):
        await store.claim(ROOM, drop_id, "ann", "press-0003")


async def test_claims_before_the_start_and_after_the_end_are_refused(store: CouponStore) -> None:
    drop = await store.create_drop(ROOM, DropSpec("Early", "percent", 10, 5))
    with pytest.raises(Conflict) as early:
        await store.claim(ROOM, drop.activity_id, "ann", "press-0001")
    assert early.value.code == "drop_not_live"
    await store.start(drop)
    await store.end(drop)
    with pytest.raises(Conflict) as late:
        await store.claim(ROOM, drop.activity_id, "ann", "press-0001")
    assert late.value.code == "claim_window_over"
    with pytest.raises(Conflict) as twice:
        await store.start(drop)
    assert twice.value.code == "drop_state"


async def test_a_rain_of_500_packets_over_2000_viewers_pays_out_the_pool_exactly_nobody_twice(
    store: CouponStore, redis: Redis
) -> None:
    rain_id = await live_rain(store, pool=123_457, packets=500)

    async def grab(n: int) -> tuple[str, int]:
        try:
            got = await store.grab(ROOM, rain_id, f"v{n % 1700}", f"key-{n:06d}")
            return got.item_id, got.amount
        except Conflict as refused:
            return refused.code, 0

    answers = await asyncio.gather(*(grab(n) for n in range(2000)))
    assert {code for code, _ in answers if not code.startswith("r")} <= {
        "drop_exhausted",
        "already_claimed",
    }
    got = [(item, amount) for item, amount in answers if item.startswith("r")]
    assert len(got) == 500 == len({item for item, _ in got})
    assert sum(amount for _, amount in got) == 123_457
    assert min(amount for _, amount in got) >= 1
    owners = await redis.hgetall(ActivityKeys(rain_id).claims)
    assert len(owners) == 500
    assert set(owners.values()) == {"1"}


async def pay(
    checkout: Checkout, keeper: StockKeeper, offer_id: str, user: str, **benefits: object
) -> ConfirmResult:
    held = await keeper.reserve(offer_id, user, 1, f"press-{user}-{random.randrange(10**9)}")
    assert held.hold_id is not None
    return await checkout.confirm(held.hold_id, user, f"psp-{held.hold_id}", **benefits)  # type: ignore[arg-type]


async def test_a_coupon_and_credit_come_off_the_order_and_are_spent_once(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper
) -> None:
    offer_id = await open_offer(keeper, stock=10, per_user_limit=5, unit_price=5000)
    drop_id = await live_drop(store, off_kind="percent", off_value=20)
    coupon = await store.claim(ROOM, drop_id, "ann", "press-0001")
    rain_id = await live_rain(store, pool=300, packets=1)
    await store.grab(ROOM, rain_id, "ann", "press-0002")
    result = await pay(checkout, keeper, offer_id, "ann", coupon_id=coupon.item_id, use_credit=True)
    assert (result.discount, result.credit, result.amount) == (1000, 300, 3700)
    assert result.coupon_id == coupon.item_id
    with pytest.raises(Conflict) as used:
        await pay(checkout, keeper, offer_id, "ann", coupon_id=coupon.item_id)
    assert used.value.code == "coupon_used"
    no_credit_left = await pay(checkout, keeper, offer_id, "ann", use_credit=True)
    assert no_credit_left.credit == 0
    assert no_credit_left.amount == 5000
    drop = await store.require(ROOM, drop_id)
    assert (drop.number("spent"), drop.number("spent_amount")) == (1, 1000)


async def test_credit_larger_than_the_price_is_spent_only_in_part(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=10, per_user_limit=5, unit_price=100)
    rain_id = await live_rain(store, pool=250, packets=1)
    packet = await store.grab(ROOM, rain_id, "ann", "press-0001")
    first = await pay(checkout, keeper, offer_id, "ann", use_credit=True)
    second = await pay(checkout, keeper, offer_id, "ann", use_credit=True)
    third = await pay(checkout, keeper, offer_id, "ann", use_credit=True)
    assert [r.credit for r in (first, second, third)] == [100, 100, 50]
    assert [r.amount for r in (first, second, third)] == [0, 0, 50]
    item = await redis.hgetall(ActivityKeys(rain_id).item(packet.item_id))
    assert item["balance"] == "0"
    assert item["status"] == "spent"


async def test_300_concurrent_confirms_with_one_coupon_use_it_once_and_refuse_the_rest(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper
) -> None:
    """Regression guard: a coupon spent by several holds paid at the same moment."""
    offer_id = await open_offer(keeper, stock=300, per_user_limit=300, unit_price=2000)
    drop_id = await live_drop(store, off_value=500)
    coupon = await store.claim(ROOM, drop_id, "ann", "press-0001")
    holds = [await keeper.reserve(offer_id, "ann", 1, f"press-{n:06d}") for n in range(300)]

    async def confirm(hold_id: str) -> str:
        try:
            result = await checkout.confirm(hold_id, "ann", f"psp-{hold_id}", coupon.item_id)
            return f"{result.outcome}:{result.discount}"
        except Conflict as refused:
            return refused.code

    outcomes = await asyncio.gather(*(confirm(str(h.hold_id)) for h in holds))
    assert outcomes.count("confirmed:500") == 1
    assert set(outcomes) <= {"confirmed:500", "coupon_in_use", "coupon_used"}
    drop = await store.require(ROOM, drop_id)
    assert (drop.number("spent"), drop.number("spent_amount")) == (1, 500)


async def test_a_late_payment_refunded_gives_the_coupon_back(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=1, hold_seconds=1, unit_price=2000)
    drop_id = await live_drop(store, off_value=500)
    coupon = await store.claim(ROOM, drop_id, "ann", "press-0001")
    held = await keeper.reserve(offer_id, "ann", 1, "press-0002")
    await asyncio.sleep(1.1)
    await keeper.expire_due(offer_id)
    await keeper.reserve(offer_id, "bob", 1, "press-0003")  # the unit is resold
    late = await checkout.confirm(str(held.hold_id), "ann", "psp-late", coupon.item_id)
    assert late.outcome == "hold_expired"
    assert late.refund_due
    item = await redis.hgetall(ActivityKeys(drop_id).item(coupon.item_id))
    assert item["status"] == "active"
    entries = cast(
        list[tuple[str, dict[str, str]]], await redis.xrange(f"ls:{{offer:{offer_id}}}:outbox")
    )
    refund = entries[-1][1]
    assert refund["type"] == "refund_due"
    assert refund["amount"] == "1500"


async def test_a_crash_between_lock_and_confirm_is_repaired_and_the_coupon_usable_again(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper, redis: Redis
) -> None:
    """Regression guard: a process dying after locking a coupon must not keep it forever,
    and a confirm arriving after the repair must not book it."""
    offer_id = await open_offer(keeper, stock=5, per_user_limit=5, unit_price=2000)
    drop_id = await live_drop(store, off_value=500)
    coupon = await store.claim(ROOM, drop_id, "ann", "press-0001")
    held = await keeper.reserve(offer_id, "ann", 1, "press-0002")
    hold_id = str(held.hold_id)
    short = Checkout(redis, keeper, lease_ms=1)
    lock = await short.scripts.lock(
        ActivityKeys(drop_id), coupon.item_id, "ann", hold_id, "crashed-token", 1, ROOM
    )
    assert lock.outcome == "locked"
    await asyncio.sleep(0.01)
    assert await repair_once(redis, store, checkout) == 1
    item = await redis.hgetall(ActivityKeys(drop_id).item(coupon.item_id))
    assert item["status"] == "active"
    # The crashed payment's confirm, arriving late with its old lock, books nothing.
    from stockkeeper.benefits import BenefitLockLost, Benefits, CouponTerms

    stale = Benefits(CouponTerms("crashed-token", coupon.item_id, "amount", 500))
    with pytest.raises(BenefitLockLost):
        await keeper.confirm(hold_id, "ann", "psp-1", stale)
    paid = await checkout.confirm(hold_id, "ann", "psp-1", coupon.item_id)
    assert paid.discount == 500


async def test_a_crash_after_the_confirm_is_repaired_by_spending_the_coupon(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper, redis: Redis
) -> None:
    offer_id = await open_offer(keeper, stock=5, per_user_limit=5, unit_price=2000)
    drop_id = await live_drop(store, off_value=500)
    coupon = await store.claim(ROOM, drop_id, "ann", "press-0001")
    held = await keeper.reserve(offer_id, "ann", 1, "press-0002")
    hold_id = str(held.hold_id)
    await checkout.scripts.lock(
        ActivityKeys(drop_id), coupon.item_id, "ann", hold_id, "tok-1", 1, ROOM
    )
    from stockkeeper.benefits import Benefits, CouponTerms

    paid = await keeper.confirm(
        hold_id, "ann", "psp-1", Benefits(CouponTerms("tok-1", coupon.item_id, "amount", 500))
    )
    assert paid.discount == 500
    await asyncio.sleep(0.01)
    assert await repair_once(redis, store, checkout) == 1
    item = await redis.hgetall(ActivityKeys(drop_id).item(coupon.item_id))
    assert item["status"] == "spent"
    assert item["spent_order"] == paid.order_id
    assert await checkout.settle(Lock(coupon.item_id, "tok-1"), hold_id) == "stale"


async def test_coupon_errors_not_yours_below_minimum_wrong_offer(
    store: CouponStore, checkout: Checkout, keeper: StockKeeper
) -> None:
    offer_id = await open_offer(keeper, stock=10, per_user_limit=5, unit_price=1000)
    other_offer = await open_offer(keeper, stock=10, unit_price=1000)
    drop_id = await live_drop(store, off_value=100, min_spend=1500)
    coupon = await store.claim(ROOM, drop_id, "ann", "press-0001")
    scoped = await live_drop(store, off_value=100, offer_id=other_offer)
    scoped_coupon = await store.claim(ROOM, scoped, "ann", "press-0002")
    with pytest.raises(NotFound) as not_yours:
        await pay(checkout, keeper, offer_id, "bob", coupon_id=coupon.item_id)
    assert not_yours.value.code == "unknown_coupon"
    with pytest.raises(Conflict) as below:
        await pay(checkout, keeper, offer_id, "ann", coupon_id=coupon.item_id)
    assert below.value.code == "coupon_min_spend"
    assert below.value.details["min_spend"] == 1500
    with pytest.raises(Conflict) as wrong:
        await pay(checkout, keeper, offer_id, "ann", coupon_id=scoped_coupon.item_id)
    assert wrong.value.code == "coupon_wrong_offer"
    fine = await pay(checkout, keeper, other_offer, "ann", coupon_id=scoped_coupon.item_id)
    assert fine.discount == 100


async def test_a_goal_reward_starts_one_drop_per_reward_id(store: CouponStore) -> None:
    """Regression guard: a tier's reward started again after a lease (another process)
    must not make a second drop."""
    from server.coupons.context import drop_starter
    from server.shows.store import Show

    show = Show(ROOM, "test-host", "Goals", "live", 0, 0, 0)
    spec = {"kind": "coupon_drop", "reward_id": "tier-1", "percent_off": 10, "quota": 5}
    start = drop_starter(store)
    await asyncio.gather(start(show, spec), start(show, spec))
    activities = await store.of_room(ROOM)
    live = [a for a in activities if a.status == "live"]
    assert len(live) == 1
    assert live[0].number("quota") == 5
