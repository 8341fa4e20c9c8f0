"""Fulfilment's status events over real Kafka: the app's consumer applies them in order,
skips and counts bad ones without stopping, and pushes ``order_status`` to the buyer; and
the whole loop with ``livesale fulfil --ship``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.appkeys import METRICS, ORDERS, REDIS, ROOM_PUBLISHER
from server.orders.consumer import StatusConsumer, StatusTopic, status_counter
from server.orders.status import Handled, StatusUpdates
from server.settings import Settings
from stockkeeper.audit import read_records
from stockkeeper.errors import StockUnavailable
from stockkeeper.keys import OfferKeys
from stockkeeper.status_reports import CARRIER, tracking_number

from .helpers import viewer, wait_for
from .relay_helpers import SCHEMAS
from .room_helpers import Client, create_offer, events_until, of_type, open_now, token

STATUS_SCHEMA = json.loads((SCHEMAS / "order_status.v1.json").read_text())

pytest_plugins = ["tests.room_fixtures"]


@pytest.fixture
def status_settings(app_settings: Settings) -> Settings:
    run = uuid.uuid4().hex[:10]
    return dataclasses.replace(
        app_settings,
        order_status_topic=f"test.order-status.{run}",
        order_status_group=f"test-order-status-{run}",
        consume_order_status=True,
    )


@pytest.fixture
async def status_client(aiohttp_client: Any, status_settings: Settings, redis: Any) -> Client:
    client: Client = await aiohttp_client(create_app(status_settings))
    return client


@pytest.fixture
async def producer(status_settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(
        bootstrap_servers=status_settings.stock.kafka_bootstrap, enable_idempotence=True
    )
    await kafka.start()
    yield kafka
    await kafka.stop()


async def paid_order(client: Client, user: str) -> str:
    offer = await create_offer(client, stock=5)
    await open_now(client, offer["id"])
    resp = await client.post(
        f"/api/offers/{offer['id']}/reservations",
        json={"idempotency_key": f"press-{user}-0001"},
        headers=viewer(user),
    )
    hold_id = (await resp.json())["hold"]["hold_id"]
    resp = await client.post(
        f"/api/holds/{hold_id}/confirm", json={"payment_ref": "psp-1"}, headers=viewer(user)
    )
    return str((await resp.json())["order_id"])


def status(order_id: str, status_: str, at: str, **fields: Any) -> bytes:
    body = {"schema": "livesale.order_status", "schema_version": 1, "order_id": order_id}
    return orjson.dumps({**body, "status": status_, "at": at, **fields})


def counted(client: Client) -> dict[str, float]:
    """The consumer's metric: events by outcome."""
    found: dict[str, float] = {}
    for metric in client.app[METRICS].registry.collect():
        if metric.name == "livesale_order_status_events":
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    found[sample.labels["outcome"]] = sample.value
    return found


async def my_orders(client: Client, user: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/me/orders", headers=viewer(user))
    orders: list[dict[str, Any]] = (await resp.json())["orders"]
    return orders


async def test_the_consumer_applies_good_events_skips_bad_ones_and_tells_the_buyer(
    status_client: Client, status_settings: Settings, producer: AIOKafkaProducer
) -> None:
    order_id = await paid_order(status_client, "ann")
    ann = await status_client.ws_connect("/rooms/show-1/live", params={"token": token("ann")})
    await events_until(ann, of_type("snapshot"))
    topic = status_settings.order_status_topic
    shipped = status(order_id, "shipped", "2026-11-21T19:00:00Z", carrier="DHL", tracking="T1")
    events = [
        b"{this is not json",
        orjson.dumps({"schema": "livesale.order_status", "schema_version": 2}),
        status(order_id, "lost_at_sea", "2026-11-21T19:00:00Z"),
        status("o9-00000000000000aa", "shipped", "2026-11-21T19:00:00Z"),
        shipped,
        shipped,
        status(order_id, "delivered", "2026-11-22T09:00:00Z"),
        status(order_id, "shipped", "2026-11-21T19:30:00Z", tracking="T2"),
    ]
    for raw in events:
        # Keyed by order id, as fulfilment does: one order's events in one partition.
        await producer.send_and_wait(topic, raw, key=order_id.encode())

    async def all_read() -> bool:
        return sum(counted(status_client).values()) == len(events)

    await wait_for(all_read, 60, "the consumer to read every event")
    assert counted(status_client) == {
        "not_json": 1,
        "invalid": 1,
        "unknown_status": 1,
        "unknown_order": 1,
        "applied": 2,
        "duplicate": 1,
        "stale": 1,
    }
    pushed = [
        (e["status"], e["tracking"])
        for e in await events_until(ann, of_type("order_status", status="delivered"))
        if e["type"] == "order_status"
    ]
    assert pushed == [("shipped", "T1"), ("delivered", "T1")]
    [order] = await my_orders(status_client, "ann")
    assert (order["state"], order["carrier"], order["tracking"]) == ("delivered", "DHL", "T1")

    # Still consuming after the bad ones: a refund is applied and pushed.
    await producer.send_and_wait(
        topic, status(order_id, "refunded", "2026-11-23T09:00:00Z"), key=order_id.encode()
    )
    await events_until(ann, of_type("order_status", status="refunded"), timeout_s=30)
    assert (await my_orders(status_client, "ann"))[0]["state"] == "refunded"
    await ann.close()


async def test_the_demo_loop_livesale_fulfil_ship_reports_shipped_then_delivered(
    aiohttp_client: Any, status_settings: Settings, redis: Any, tmp_path: Path
) -> None:
    """The local demo's whole loop: an order goes to Kafka through the relay, the sample
    fulfilment ships it and reports it, and the buyer's page hears shipped, then delivered."""
    settings = dataclasses.replace(status_settings, run_relay=True)
    client: Client = await aiohttp_client(create_app(settings))
    order_id = await paid_order(client, "ann")
    ann = await client.ws_connect("/rooms/show-1/live", params={"token": token("ann")})
    stock = settings.stock
    env = {
        **os.environ,
        "LIVESALE_REDIS_URL": stock.redis_url,
        "LIVESALE_KAFKA_BOOTSTRAP": stock.kafka_bootstrap,
        "LIVESALE_ORDERS_TOPIC": stock.orders_topic,
        "LIVESALE_ORDER_STATUS_TOPIC": settings.order_status_topic,
    }
    group = f"test-warehouse-{uuid.uuid4().hex[:8]}"
    with (tmp_path / "fulfil.log").open("wb") as log:
        fulfil = await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", "from server.cli import main; main()", "fulfil"),
            *("--group", group, "--ship", "--deliver-after", "1"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        seen = await events_until(ann, of_type("order_status", status="delivered"), timeout_s=90)
    finally:
        fulfil.terminate()
        out, _ = await asyncio.wait_for(fulfil.communicate(), 20)
    assert [orjson.loads(line)["order_id"] for line in out.splitlines()] == [order_id]
    assert [e["status"] for e in seen if e["type"] == "order_status"] == ["shipped", "delivered"]
    [order] = await my_orders(client, "ann")
    assert (order["state"], order["carrier"]) == ("delivered", CARRIER)
    assert order["tracking"] == tracking_number(order_id)

    records = await read_records(stock.kafka_bootstrap, settings.order_status_topic, expected=2)
    checker = jsonschema.Draft202012Validator(
        STATUS_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for record in records:
        checker.validate(record.value)
        assert record.key == order_id.encode()
    assert [r.value["status"] for r in records] == ["shipped", "delivered"]
    await ann.close()


async def test_the_app_answers_while_kafka_is_out_of_reach(
    aiohttp_client: Any, status_settings: Settings, redis: Any
) -> None:
    """The status consumer retries in the background: a Kafka that does not answer never
    stops the app from starting or serving."""
    settings = dataclasses.replace(
        status_settings,
        stock=dataclasses.replace(status_settings.stock, kafka_bootstrap="127.0.0.1:9"),
    )
    client: Client = await aiohttp_client(create_app(settings))
    resp = await client.get("/api/me/orders", headers=viewer("ann"))
    assert resp.status == 200


class FailingOnce(StatusUpdates):
    """Status updates whose first call finds Redis out of reach."""

    failed = False

    async def handle(self, raw: bytes) -> Handled:
        if not self.failed:
            self.failed = True
            raise StockUnavailable("Redis did not answer: (test)")
        return await super().handle(raw)


async def test_an_event_read_while_redis_is_away_is_read_again_not_skipped(
    room_client: Client, status_settings: Settings, producer: AIOKafkaProducer
) -> None:
    """Guards against an outage turning good events into lost ones: the consumer starts
    over from its last commit and applies the event once Redis answers."""
    order_id = await paid_order(room_client, "ann")
    app = room_client.app
    where = StatusTopic(
        status_settings.stock.kafka_bootstrap,
        status_settings.order_status_topic,
        status_settings.order_status_group,
        partitions=1,
    )
    consumer = StatusConsumer(
        where,
        FailingOnce(app[ORDERS].scripts, app[ROOM_PUBLISHER]),
        status_counter(CollectorRegistry()),
    )
    task = asyncio.create_task(consumer.run())
    try:
        await producer.send_and_wait(
            where.topic,
            status(order_id, "shipped", "2026-11-21T19:00:00Z", carrier="DHL"),
            key=order_id.encode(),
        )

        async def applied() -> bool:
            return consumer.counts.get("applied") == 1

        try:
            await wait_for(applied, 30, "the event to be applied after the failure")
        except AssertionError:
            hold = await app[REDIS].hgetall(
                OfferKeys(order_id[1:].split("-")[0]).hold(order_id[1:])
            )
            raise AssertionError(f"{consumer.counts}, hold {hold}") from None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert consumer.counts == {"applied": 1}
    [order] = await my_orders(room_client, "ann")
    assert (order["state"], order["carrier"]) == ("shipped", "DHL")
