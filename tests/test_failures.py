"""Redis and Kafka failing mid-sale: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from deploy.stack import KafkaBroker, RedisServer
from server.app import create_app
from server.redis_client import connect
from server.settings import Settings
from stockkeeper.audit import read_records, read_topic
from stockkeeper.fulfilment import FulfilmentConsumer
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import RELAY_GROUP, OfferKeys
from stockkeeper.relay import OutboxRelay
from stockkeeper.settings import StockSettings

from .helpers import (
    assert_consistent,
    create_live_offer,
    open_offer,
    sign_up_test_host_at,
    viewer,
    wait_for,
)
from .relay_helpers import confirmed_orders, relay_env

pytestmark = pytest.mark.slow

SpawnRelay = Callable[[StockSettings, str], "subprocess.Popen[bytes]"]


async def test_orders_confirmed_while_kafka_is_down_all_arrive_when_it_returns(
    keeper: StockKeeper, kafka_broker: KafkaBroker, stock_settings: StockSettings
) -> None:
    """Guards against Redis saying sold while the order never reaches the queue."""
    settings = dataclasses.replace(stock_settings, kafka_bootstrap=kafka_broker.bootstrap)
    relay = OutboxRelay(keeper.redis, settings, "relay-outage")
    relay_task = asyncio.create_task(relay.run())
    try:
        offer_id = await open_offer(keeper, stock=100)
        before = await confirmed_orders(keeper, offer_id, range(20))

        async def first_batch_sent() -> bool:
            return relay.published >= 20

        await wait_for(first_batch_sent, 30, "the first orders to reach Kafka")

        await asyncio.to_thread(kafka_broker.stop)
        during = await confirmed_orders(keeper, offer_id, range(20, 50))
        await asyncio.sleep(2)
        assert await relay.outbox_depth() == 30  # waiting, not lost

        await asyncio.to_thread(kafka_broker.start)

        async def outbox_drained() -> bool:
            return await relay.outbox_depth() == 0

        await wait_for(outbox_drained, 60, "the waiting orders to reach Kafka")
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)

    messages = await read_topic(kafka_broker.bootstrap, settings.orders_topic, expected=50)
    assert {m["order_id"] for m in messages} == set(before + during)


@pytest.fixture
def spawn_relay(
    tmp_path: Path,
) -> Iterator[Callable[[StockSettings, str], subprocess.Popen[bytes]]]:
    """Start `livesale relay` processes; every one is killed when the test ends, passed or
    failed, so none outlives its test and steals another test's outbox."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(settings: StockSettings, name: str) -> subprocess.Popen[bytes]:
        process = relay_process(settings, name, tmp_path / "relay.log")
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def relay_process(settings: StockSettings, name: str, log: Path) -> subprocess.Popen[bytes]:
    """`livesale relay --name NAME` over the test's Redis, Kafka and topics, in batches of 50
    so that a kill lands mid-stream."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from server.cli import main; main()", "relay", "--name", name],
            env=relay_env(dataclasses.replace(settings, relay_batch=50)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.parametrize("restarted_as", ["relay-a", "relay-b"])
async def test_a_relay_killed_mid_stream_loses_no_order(
    keeper: StockKeeper,
    redis: Redis,
    stock_settings: StockSettings,
    spawn_relay: SpawnRelay,
    restarted_as: str,
) -> None:
    """Killed with SIGKILL mid-stream, then restarted under its own name or as another
    relay (which claims the dead one's entries): every order reaches Kafka, and a
    fulfilment consumer ships each exactly once."""
    offer_ids = [await open_offer(keeper, stock=1000) for _ in range(3)]
    order_ids: list[str] = []
    for offer_id in offer_ids:
        order_ids += await confirmed_orders(keeper, offer_id, range(600))
    probe = OutboxRelay(redis, stock_settings, "probe")
    total = len(order_ids)

    first = spawn_relay(stock_settings, "relay-a")

    async def mid_stream() -> bool:
        return await probe.outbox_depth() < total - 100

    await wait_for(mid_stream, 60, "the relay to start sending")
    first.send_signal(signal.SIGKILL)
    first.wait()
    left = await probe.outbox_depth()
    assert 0 < left < total, "the relay was not killed mid-stream"

    spawn_relay(stock_settings, restarted_as)

    async def drained() -> bool:
        return await probe.outbox_depth() == 0

    await wait_for(drained, 60, "the restarted relay to send the rest")

    messages = await read_topic(
        stock_settings.kafka_bootstrap, stock_settings.orders_topic, expected=total
    )
    assert {m["order_id"] for m in messages} == set(order_ids)

    shipped: list[str] = []

    async def ship(order: dict[str, Any]) -> None:
        shipped.append(order["order_id"])

    stop = asyncio.Event()
    consumer = FulfilmentConsumer(redis, stock_settings, "warehouse-test", ship)
    consuming = asyncio.create_task(consumer.run(stop))

    async def all_read() -> bool:
        return consumer.shipped + consumer.duplicates >= len(messages)

    await wait_for(all_read, 60, "the fulfilment consumer to read every message")
    stop.set()
    await consuming
    assert sorted(shipped) == sorted(order_ids)
    assert consumer.duplicates == len(messages) - total


async def test_two_relays_share_the_outbox_and_one_killed_loses_no_order(
    keeper: StockKeeper, redis: Redis, stock_settings: StockSettings, spawn_relay: SpawnRelay
) -> None:
    """Two relays drain the outboxes together through the consumer group; one dies with
    entries in flight (read, not yet acknowledged by Kafka) and the other claims them.
    Every order reaches Kafka, keyed by its order id (so all copies of an order share a
    partition), and the topic's partitions all carry orders."""
    offer_ids = [await open_offer(keeper, stock=1000) for _ in range(4)]
    order_ids: list[str] = []
    for offer_id in offer_ids:
        order_ids += await confirmed_orders(keeper, offer_id, range(400))
    probe = OutboxRelay(redis, stock_settings, "probe")
    total = len(order_ids)
    streams = [OfferKeys(offer_id).outbox for offer_id in offer_ids]

    async def in_flight(name: str) -> int:
        count = 0
        for stream in streams:
            with contextlib.suppress(ResponseError):  # the group is not there yet
                summary = await redis.xpending(stream, RELAY_GROUP)
                count += sum(c["pending"] for c in summary["consumers"] if c["name"] == name)
        return count

    doomed = spawn_relay(stock_settings, "relay-a")
    # Freeze relay-a at a moment it holds entries Kafka has not acknowledged.
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "relay-a never had entries in flight"
        doomed.send_signal(signal.SIGSTOP)
        if await in_flight("relay-a") > 0 and await probe.outbox_depth() > 200:
            break
        doomed.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.005)
    spawn_relay(stock_settings, "relay-b")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()

    async def drained() -> bool:
        return await probe.outbox_depth() == 0

    await wait_for(drained, 60, "relay-b to send the rest, relay-a's share included")
    readers = set()
    for offer_id in offer_ids:
        for consumer in await redis.xinfo_consumers(OfferKeys(offer_id).outbox, RELAY_GROUP):
            readers.add(consumer["name"])
    assert {"relay-a", "relay-b"} <= readers

    records = await read_records(
        stock_settings.kafka_bootstrap, stock_settings.orders_topic, expected=total
    )
    assert {r.value["order_id"] for r in records} == set(order_ids)
    partitions_of: dict[str, set[int]] = {}
    for record in records:
        assert record.key == record.value["order_id"].encode()
        partitions_of.setdefault(record.value["order_id"], set()).add(record.partition)
    assert all(len(p) == 1 for p in partitions_of.values())
    assert {r.partition for r in records} == {0, 1, 2}


async def test_redis_restarted_mid_sale_loses_and_doubles_no_unit(
    redis_server: RedisServer, app_settings: Settings
) -> None:
    """Buyers retry a 503 with the same idempotency key; after Redis restarts (keeping its
    append-only file) every unit is held exactly once and every hold a buyer was told
    about exists."""
    stock = dataclasses.replace(app_settings.stock, redis_url=redis_server.url)
    await sign_up_test_host_at(redis_server.url)
    settings = dataclasses.replace(app_settings, stock=stock, run_sweeper=True)
    server = TestServer(create_app(settings))
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    rng = random.Random(3)
    unavailable = 0
    # Redis stops once a third of the stock is taken, whatever the machine's speed, so the
    # outage always lands while units are still on sale (a sold-out flag answers without it).
    answered: list[int] = []
    sale_under_way = asyncio.Event()

    async def buyer(session: aiohttp.ClientSession, n: int) -> tuple[str, dict[str, Any]]:
        nonlocal unavailable
        await asyncio.sleep(rng.random() * 1.5)
        for _ in range(400):
            async with session.post(
                f"{base}/api/offers/{offer_id}/reservations",
                json={"idempotency_key": f"press-{n:06}"},
                headers=viewer(f"buyer-{n}"),
            ) as resp:
                body = await resp.json()
                if resp.status != 503:
                    answered.append(n)
                    if len(answered) == 100:
                        sale_under_way.set()
                    return f"buyer-{n}", body
                assert body["error"]["code"] == "stock_unavailable"
                assert resp.headers["Retry-After"] == "1"
                unavailable += 1
            await asyncio.sleep(0.05)
        raise AssertionError("Redis never came back")

    async def outage() -> None:
        await sale_under_way.wait()
        await asyncio.to_thread(redis_server.stop)
        await asyncio.sleep(0.7)
        await asyncio.to_thread(redis_server.start)

    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            offer_id = await create_live_offer(session, base, stock=300)
            answers = await asyncio.gather(outage(), *(buyer(session, n) for n in range(1000)))
    finally:
        await server.close()

    results = [a for a in answers if a is not None]
    assert unavailable > 0, "the outage hit no request"
    holds = {body["hold"]["hold_id"]: user for user, body in results if "hold" in body}
    assert len(holds) == 300
    assert max(Counter(holds.values()).values()) == 1
    redis = connect(redis_server.url)
    try:
        assert await assert_consistent(redis, offer_id) == {
            "total": 300,
            "available": 0,
            "held": 300,
            "sold": 0,
        }
        for hold_id in holds:
            assert await redis.exists(OfferKeys(offer_id).hold(hold_id))
    finally:
        await redis.aclose()


async def test_redis_down_answers_503_and_writes_nothing(
    redis_server: RedisServer, app_settings: Settings
) -> None:
    stock = dataclasses.replace(app_settings.stock, redis_url=redis_server.url)
    await sign_up_test_host_at(redis_server.url)
    server = TestServer(create_app(dataclasses.replace(app_settings, stock=stock)))
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        async with aiohttp.ClientSession() as session:
            offer_id = await create_live_offer(session, base, stock=3)
            await asyncio.to_thread(redis_server.stop)
            for path, body in (
                (f"/api/offers/{offer_id}/reservations", {"idempotency_key": "press-0001"}),
                (f"/api/holds/{offer_id}-0000000000000000/confirm", {"payment_ref": "p"}),
            ):
                async with session.post(base + path, json=body, headers=viewer("a")) as resp:
                    assert resp.status == 503
                    error = (await resp.json())["error"]
                    assert error["code"] == "stock_unavailable"
                    assert error["retriable"] is True
            async with session.get(f"{base}/readyz") as resp:
                assert resp.status == 503
            await asyncio.to_thread(redis_server.start)
            async with session.get(f"{base}/api/offers/{offer_id}") as resp:
                assert (await resp.json())["available"] == 3
    finally:
        await server.close()
