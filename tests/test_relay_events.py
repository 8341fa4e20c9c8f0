"""Other features' outboxes: a stream registered with ``register_outbox`` is relayed like an
offer's, an ``event`` entry goes to the topic it names as it is (the topic created on first
use), and an order of version 2 reads as its schema says."""

from __future__ import annotations

import json
import uuid

import jsonschema
from redis.asyncio import Redis

from stockkeeper.audit import read_records
from stockkeeper.events import event_entry
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.relay import outbox_depth, register_outbox
from stockkeeper.settings import StockSettings

from .helpers import open_offer
from .relay_helpers import SCHEMAS, confirmed_orders, drain

pytest_plugins = ["tests.relay_fixtures"]


async def test_an_event_in_a_registered_outbox_reaches_its_own_topic_once(
    redis: Redis, settings: StockSettings
) -> None:
    topic = f"test.features.{uuid.uuid4().hex[:8]}"
    stream = "ls:{feature:7}:outbox"
    await register_outbox(redis, stream)
    for n in range(3):
        event = {"schema": "test.thing", "n": n, "text": "café ☕"}
        await redis.xadd(stream, event_entry(topic, f"thing-{n}", event))  # type: ignore[arg-type]
    assert await outbox_depth(redis) == 3

    await drain(redis, settings, "relay-events")

    records = await read_records(settings.kafka_bootstrap, topic, expected=3)
    assert sorted((r.key, r.value["n"]) for r in records) == [
        (b"thing-0", 0),
        (b"thing-1", 1),
        (b"thing-2", 2),
    ]
    assert {r.value["text"] for r in records} == {"café ☕"}


async def test_a_purchase_is_an_order_of_version_2_with_its_deal_price(
    redis: Redis, keeper: StockKeeper, settings: StockSettings
) -> None:
    offer_id = await open_offer(keeper, stock=5)
    await redis.hset(OfferKeys(offer_id).offer, "compare_at_price", 2999)
    [order_id] = await confirmed_orders(keeper, offer_id, range(1))

    await drain(redis, settings, "relay-v2")

    [record] = await read_records(settings.kafka_bootstrap, settings.orders_topic, expected=1)
    jsonschema.validate(record.value, json.loads((SCHEMAS / "order_confirmed.v2.json").read_text()))
    order = record.value
    assert order["order_id"] == order_id
    assert (order["kind"], order["compare_at_price"], order["discount"], order["credit"]) == (
        "purchase",
        2999,
        0,
        0,
    )
    assert order["amount"] == order["quantity"] * order["unit_price"]
    assert (order["giveaway_id"], order["group_id"], order["coupon_id"], order["shipping"]) == (
        None,
        None,
        None,
        None,
    )
