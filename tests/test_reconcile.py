"""Reconciliation finds planted faults (a unit missing from the books, an order in the
outbox not in Kafka, a Kafka order with no confirmed hold) and nothing after a clean storm;
``livesale reconcile`` prints the ids and exits 1 on a difference."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from typing import cast

import orjson
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.reconcile import reconcile
from stockkeeper.settings import StockSettings

from .helpers import open_offer
from .relay_helpers import ROOT, confirmed_orders, drain, relay_env


async def _storm(keeper: StockKeeper, offer_id: str, buyers: range) -> list[str]:
    """Buyers press at once: a third pay, a third give up, a third keep their hold."""

    async def press(n: int) -> str | None:
        held = await keeper.reserve(offer_id, f"s{n}", 1, f"storm-{n:06}")
        if not held.hold_id:
            return None
        if n % 3 == 0:
            return (await keeper.confirm(held.hold_id, f"s{n}", f"psp-{n}")).order_id
        if n % 3 == 1:
            await keeper.cancel(held.hold_id, f"s{n}")
        return None

    return [o for o in await asyncio.gather(*(press(n) for n in buyers)) if o]


async def test_a_clean_storm_reconciles_with_nothing_to_report(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    first = await open_offer(keeper, stock=40, room_id="room-r")
    second = await open_offer(keeper, stock=25, room_id="room-r", buckets=3)
    orders = await _storm(keeper, first, range(60)) + await _storm(keeper, second, range(40))
    await drain(redis, stock_settings, "reconcile-relay")
    result = await reconcile(redis, stock_settings, "room-r")
    assert result.differences == [], result.report()
    assert result.pending == []
    assert sum(b.orders_in_kafka for b in result.offers) == len(orders)
    books = {b.offer_id: b for b in result.offers}
    assert books[first].counters["sold"] == books[first].holds["confirmed"]
    assert books[second].buckets == 3
    assert result.report().endswith("(2 offers, 0 pending)")


async def test_a_unit_missing_from_the_books_is_found_with_its_bucket(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    offer_id = await open_offer(keeper, stock=10, room_id="room-f")
    await confirmed_orders(keeper, offer_id, range(2))
    await redis.hincrby(OfferKeys(offer_id).offer, "available", -1)  # a unit vanishes
    result = await reconcile(redis, stock_settings, "room-f", read_kafka=False)
    assert not result.ok
    [found] = result.differences
    assert (found.check, found.ids) == ("books_unbalanced", (offer_id,))
    assert "available 7 + held 0 + sold 2 = 9, not total 10" in found.message


async def test_an_order_in_the_outbox_is_pending_until_it_leaves_it_unrelayed_then_lost(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    """With no relay running, a confirmed order waiting in the outbox is not yet relayed, not
    lost; an order gone from the outbox and absent from Kafka is lost."""
    offer_id = await open_offer(keeper, stock=10, room_id="room-p")
    [relayed] = await confirmed_orders(keeper, offer_id, range(1))
    await drain(redis, stock_settings, "reconcile-relay-p")
    [waiting, dropped] = await confirmed_orders(keeper, offer_id, range(1, 3))
    result = await reconcile(redis, stock_settings, "room-p")
    assert result.ok, result.report()
    [pending] = result.pending
    assert pending.check == "not_yet_relayed"
    assert set(pending.ids) == {waiting, dropped}

    outbox = OfferKeys(offer_id).outbox
    entries = cast(list[tuple[str, dict[str, str]]], await redis.xrange(outbox))
    for entry_id, fields in entries:
        if fields.get("order_id") == dropped:
            await redis.xdel(outbox, entry_id)
    result = await reconcile(redis, stock_settings, "room-p")
    assert not result.ok
    [lost] = result.differences
    assert lost.check == "confirmed_order_missing_from_kafka"
    assert lost.ids[0].startswith(dropped)
    assert [p.ids for p in result.pending] == [(waiting,)]
    assert relayed not in lost.line()


async def test_a_kafka_order_with_no_confirmed_hold_is_found_with_its_ids(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    offer_id = await open_offer(keeper, stock=10, room_id="room-k")
    await confirmed_orders(keeper, offer_id, range(2))
    await drain(redis, stock_settings, "reconcile-relay-k")
    producer = AIOKafkaProducer(bootstrap_servers=stock_settings.kafka_bootstrap)
    await producer.start()
    try:
        forged = {"order_id": "ord-forged", "hold_id": "h-nowhere", "offer_id": offer_id}
        await producer.send_and_wait(
            stock_settings.orders_topic, orjson.dumps({**forged, "quantity": 1}), key=b"x"
        )
    finally:
        await producer.stop()
    result = await reconcile(redis, stock_settings, "room-k")
    [found] = result.differences
    assert found.check == "kafka_order_without_confirmed_hold"
    assert found.ids == ("ord-forged (hold h-nowhere)",)
    assert result.offers[0].orders_in_kafka == 3


async def test_the_command_prints_the_ids_and_exits_1_on_a_difference_0_when_clean(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    offer_id = await open_offer(keeper, stock=10, room_id="room-c")
    await confirmed_orders(keeper, offer_id, range(3))
    await drain(redis, stock_settings, "reconcile-relay-c")
    main = "from server.cli import main; main()"
    command = [sys.executable, "-c", main, "reconcile", "--show", "room-c"]

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *extra],
            env=relay_env(stock_settings),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    clean = await asyncio.to_thread(run)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "OK: everything adds up (1 offers, 0 pending)" in clean.stdout
    await redis.hincrby(OfferKeys(offer_id).offer, "sold", 1)
    broken = await asyncio.to_thread(run)
    assert broken.returncode == 1
    assert f"DIFFERENCE offer {offer_id}: sold_mismatch" in broken.stdout
    as_json = orjson.loads((await asyncio.to_thread(run, "--json")).stdout)
    assert as_json["ok"] is False
    assert {d["check"] for d in as_json["differences"]} >= {"sold_mismatch", "books_unbalanced"}


async def test_before_the_orders_topic_exists_confirmed_orders_are_pending(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    """Guards against a reconciliation that fails (or waits for ever) on a topic no relay has
    created yet: nothing was relayed, so every confirmed order is simply not yet relayed."""
    offer_id = await open_offer(keeper, stock=5, room_id="room-n")
    orders = await confirmed_orders(keeper, offer_id, range(2))
    result = await reconcile(redis, stock_settings, "room-n", timeout_s=20)
    assert result.ok, result.report()
    assert [set(p.ids) for p in result.pending] == [set(orders)]


async def test_kafka_out_of_reach_is_a_difference_not_a_pass(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    await open_offer(keeper, stock=5, room_id="room-u")
    unreachable = dataclasses.replace(stock_settings, kafka_bootstrap="127.0.0.1:1")
    result = await reconcile(redis, unreachable, "room-u", timeout_s=5)
    assert [d.check for d in result.differences] == ["kafka_unreadable"]
