"""Helpers of the relay tests: the environment of a relay process, a sale waiting in the
outboxes, a relay draining them, and the exactly-once check against the schemas."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import jsonschema
from redis.asyncio import Redis

from stockkeeper.audit import read_records
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import RELAY_GROUP, OfferKeys
from stockkeeper.relay import OutboxRelay, outbox_depth, transactional_id
from stockkeeper.settings import StockSettings

from .helpers import open_offer, wait_for

SCHEMAS = Path(__file__).parents[1] / "stockkeeper" / "schemas"
ROOT = Path(__file__).parents[1]
POINTS = ["before_send", "before_commit", "before_ack"]

SpawnDriver = Callable[[StockSettings, str, str, int], "subprocess.Popen[bytes]"]


def relay_env(settings: StockSettings) -> dict[str, str]:
    """The environment of a relay process over the test's Redis, Kafka and topics."""
    return {
        **os.environ,
        "LIVESALE_REDIS_URL": settings.redis_url,
        "LIVESALE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LIVESALE_ORDERS_TOPIC": settings.orders_topic,
        "LIVESALE_REFUNDS_TOPIC": settings.refunds_topic,
        "LIVESALE_RELAY_STATE_TOPIC": settings.relay_state_topic,
        "LIVESALE_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "LIVESALE_RELAY_BATCH": str(settings.relay_batch),
        "LIVESALE_RELAY_CLAIM_IDLE_MS": str(settings.relay_claim_idle_ms),
        "LIVESALE_RELAY_LEASE_MS": str(settings.relay_lease_ms),
        "LIVESALE_RELAY_KAFKA_TIMEOUT_S": str(settings.relay_kafka_timeout_s),
        "LIVESALE_RELAY_TRANSACTION_TIMEOUT_MS": str(settings.relay_transaction_timeout_ms),
    }


async def confirmed_orders(keeper: StockKeeper, offer_id: str, users: range) -> list[str]:
    """One paid unit per user; returns the order ids."""

    async def buy(n: int) -> str:
        held = await keeper.reserve(offer_id, f"u{n}", 1, f"press-{n:06}")
        assert held.hold_id
        order = await keeper.confirm(held.hold_id, f"u{n}", f"psp-{n}")
        assert order.order_id
        return order.order_id

    return list(await asyncio.gather(*(buy(n) for n in users)))


async def sale(keeper: StockKeeper, offers: int, orders_each: int) -> list[str]:
    """Orders waiting in the outboxes of several offers."""
    order_ids: list[str] = []
    for _ in range(offers):
        offer_id = await open_offer(keeper, stock=orders_each)
        order_ids += await confirmed_orders(keeper, offer_id, range(orders_each))
    return order_ids


async def drain(redis: Redis, settings: StockSettings, name: str, timeout_s: float = 60) -> None:
    """Run a relay in this process until the outboxes are empty."""
    relay = OutboxRelay(redis, settings, name)
    task = asyncio.create_task(relay.run())
    try:

        async def drained() -> bool:
            return await outbox_depth(redis) == 0

        await wait_for(drained, timeout_s, f"relay {name} to drain the outboxes")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def assert_exactly_once(settings: StockSettings, order_ids: list[str]) -> int:
    """Every order once in a read-committed reading, each valid against its schema, and the
    relay-state records valid against theirs; returns how many order messages a
    read-uncommitted reader sees (aborted copies included)."""
    committed = await read_records(
        settings.kafka_bootstrap, settings.orders_topic, expected=len(order_ids)
    )
    counts = Counter(r.value["order_id"] for r in committed)
    assert set(counts) == set(order_ids), "an order is missing"
    assert [o for o, n in counts.items() if n > 1] == [], "an order was published twice"
    order_schema = json.loads((SCHEMAS / "order_confirmed.v2.json").read_text())
    for record in committed:
        assert record.key == record.value["order_id"].encode()
        jsonschema.validate(record.value, order_schema)
    states = await read_records(
        settings.kafka_bootstrap, settings.relay_state_topic, expected=1, settle_s=0.5
    )
    state_schema = json.loads((SCHEMAS / "relay_state.v1.json").read_text())
    for state in states:
        jsonschema.validate(state.value, state_schema)
        assert state.key == state.value["relay"].encode()
        assert state.value["transactional_id"] == transactional_id(state.value["relay"])
    uncommitted = await read_records(
        settings.kafka_bootstrap,
        settings.orders_topic,
        expected=len(order_ids),
        settle_s=0.5,
        isolation_level="read_uncommitted",
    )
    return len(uncommitted)


async def pending_of(redis: Redis, order_ids: list[str], name: str) -> int:
    """Outbox entries pending under relay ``name`` (read, not acknowledged)."""
    offer_ids = {order_id[1:].partition("-")[0] for order_id in order_ids}
    count = 0
    for offer_id in offer_ids:
        summary = await redis.xpending(OfferKeys(offer_id).outbox, RELAY_GROUP)
        count += sum(c["pending"] for c in summary["consumers"] if c["name"] == name)
    return count


def killed(process: subprocess.Popen[bytes]) -> None:
    """Wait for a driver to kill itself, and check it did."""
    assert process.wait(60) == -signal.SIGKILL
