"""Coupons on the 3-master Redis Cluster: a drop's keys are one slot, an offer's another, and
paying with a coupon and credit crosses them in single-slot steps (docs/coupons.md). A
CROSSSLOT error anywhere would fail this.

It does not flush the cluster (other tests may use it): every name here is new per run."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from server.coupons.checkout import Checkout
from server.coupons.keys import ActivityKeys
from server.coupons.models import DropSpec, RainSpec
from server.coupons.repair import repair_once
from server.coupons.store import CouponStore
from server.errors import Conflict
from server.redis_client import connect
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.settings import StockSettings

from .conftest import CLUSTER_URL
from .helpers import open_offer

pytestmark = pytest.mark.slow


@pytest.fixture
async def cluster() -> AsyncIterator[Redis]:
    client = connect(CLUSTER_URL)
    yield client
    await client.aclose()


async def test_claims_payments_and_repairs_on_the_cluster(
    cluster: Redis, stock_settings: StockSettings
) -> None:
    assert isinstance(cluster, RedisCluster)
    room = f"cluster-{uuid.uuid4().hex[:8]}"
    keeper = StockKeeper(cluster, dataclasses.replace(stock_settings, redis_url=CLUSTER_URL))
    await keeper.start()
    store, checkout = CouponStore(cluster, None), Checkout(cluster, keeper)
    try:
        offer_id = await open_offer(keeper, room_id=room, stock=50, per_user_limit=50)
        drop = await store.create_drop(room, DropSpec("Five off", "amount", 500, quota=50))
        await store.start(drop)
        assert cluster.keyslot(ActivityKeys(drop.activity_id).info) != cluster.keyslot(
            OfferKeys(offer_id).offer
        )

        async def claim(n: int) -> str:
            try:
                return (await store.claim(room, drop.activity_id, f"v{n}", f"tap-{n:05d}")).item_id
            except Conflict as refused:
                return refused.code

        got = await asyncio.gather(*(claim(n) for n in range(500)))
        assert len({c for c in got if "." in c}) == 50
        rain = await store.create_rain(room, RainSpec("Rain", 100, 10))
        await store.start(rain)
        await store.grab(room, rain.activity_id, "v0", "tap-r0")

        coupon = got[0]
        holds = [await keeper.reserve(offer_id, "v0", 1, f"press-{n:05d}") for n in range(20)]
        outcomes = await asyncio.gather(
            *(
                checkout.confirm(str(h.hold_id), "v0", f"psp-{n}", coupon, use_credit=True)
                for n, h in enumerate(holds)
            ),
            return_exceptions=True,
        )
        paid = [o for o in outcomes if not isinstance(o, BaseException)]
        assert [p.discount for p in paid].count(500) == 1
        assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, BaseException))

        # A payment that crashed after locking is repaired on the cluster too.
        second = got[1]
        held = await keeper.reserve(offer_id, "v1", 1, "press-crash")
        await checkout.scripts.lock(
            ActivityKeys(drop.activity_id), second, "v1", str(held.hold_id), "tok-x", 1, room
        )
        await asyncio.sleep(0.01)
        assert await repair_once(cluster, store, checkout) >= 1
        item = await cluster.hgetall(ActivityKeys(drop.activity_id).item(second))
        assert item["status"] == "active"
    finally:
        await store.close()
        await keeper.close()
