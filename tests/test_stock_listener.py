"""The stock keeper tells its listener what changed, and knows nothing of who listens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper
from stockkeeper.listener import NoListener
from stockkeeper.models import PurchaseNotice
from stockkeeper.settings import StockSettings

from .helpers import open_offer


@dataclass
class Recorder:
    """A listener that writes down what it is told."""

    changed: list[str] = field(default_factory=list)
    news: list[PurchaseNotice] = field(default_factory=list)

    def stock_changed(self, offer_id: str) -> None:
        self.changed.append(offer_id)

    def purchase_news(self, notice: PurchaseNotice) -> None:
        self.news.append(notice)


async def test_a_keeper_without_a_listener_tells_nobody(keeper: StockKeeper) -> None:
    assert isinstance(keeper.listener, NoListener)
    offer_id = await open_offer(keeper)
    assert (await keeper.reserve(offer_id, "u1", 1, "press-1")).outcome == "reserved"


async def test_the_listener_is_told_of_every_stock_change_once(keeper: StockKeeper) -> None:
    keeper.listener = recorder = Recorder()
    offer_id = await open_offer(keeper, stock=5, per_user_limit=2)
    held = await keeper.reserve(offer_id, "u1", 1, "press-1")
    await keeper.reserve(offer_id, "u1", 1, "press-1")  # a replay changes nothing
    assert recorder.changed == [offer_id]
    assert held.hold_id
    await keeper.cancel(held.hold_id, "u1")
    await keeper.restock(offer_id, 2)
    await keeper.pull_stock(offer_id, 1)
    assert recorder.changed == [offer_id] * 4
    assert recorder.news == []


async def test_the_listener_hears_the_news_of_a_buyer_in_their_room(
    keeper: StockKeeper,
) -> None:
    keeper.listener = recorder = Recorder()
    offer_id = await open_offer(keeper)
    held = await keeper.reserve(offer_id, "u1", 1, "press-1")
    assert held.hold_id
    order = await keeper.confirm(held.hold_id, "u1", "pay-1")
    await keeper.confirm(held.hold_id, "u1", "pay-1")  # a replay is no news
    assert recorder.news == [
        PurchaseNotice(
            "room-1",
            "u1",
            {
                "status": "confirmed",
                "hold_id": held.hold_id,
                "offer_id": offer_id,
                "order_id": order.order_id,
                "quantity": 1,
                "amount": 1999,
            },
        )
    ]


async def test_the_listener_hears_of_lapsed_holds_and_late_payments(
    keeper: StockKeeper,
) -> None:
    keeper.listener = recorder = Recorder()
    offer_id = await open_offer(keeper, stock=1, hold_seconds=1)
    late = await keeper.reserve(offer_id, "u1", 1, "press-1")
    assert late.hold_id
    await asyncio.sleep(1.1)
    await keeper.expire_due(offer_id)
    await keeper.reserve(offer_id, "u2", 1, "press-2")
    await keeper.confirm(late.hold_id, "u1", "pay-late")
    statuses = [(n.user_id, n.data["status"]) for n in recorder.news]
    assert statuses == [("u1", "expired"), ("u1", "hold_expired")]
    assert recorder.news[1].data["refund_due"] is True


async def test_a_listener_given_at_construction_is_the_one_told(
    redis: Redis, stock_settings: StockSettings
) -> None:
    recorder = Recorder()
    keeper = StockKeeper(redis, stock_settings, listener=recorder)
    await keeper.start()
    try:
        offer_id = await open_offer(keeper)
        await keeper.reserve(offer_id, "u1", 1, "press-1")
        assert recorder.changed == [offer_id]
    finally:
        await keeper.close()
