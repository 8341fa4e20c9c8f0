"""Orders reach Kafka exactly once for a read-committed consumer, whatever is killed when.

Relays run as real processes (``tests/relay_driver.py``) killed with SIGKILL at an exact
point of a batch; a broker of the test's own is stopped for longer than every timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from redis.asyncio import Redis

from deploy.kafka_broker import kafka_libs
from deploy.settings import StackSettings
from deploy.stack import KafkaBroker
from server.settings import Settings
from stockkeeper.audit import read_records
from stockkeeper.fulfilment import FulfilmentConsumer
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import RELAY_GROUP, OfferKeys
from stockkeeper.relay import OutboxRelay, outbox_depth, transactional_id
from stockkeeper.relay.transactions import RelayTransactions
from stockkeeper.settings import StockSettings

from .helpers import open_offer, wait_for

SCHEMAS = Path(__file__).parents[1] / "stockkeeper" / "schemas"
ROOT = Path(__file__).parents[1]
POINTS = ["before_send", "before_commit", "before_ack"]

SpawnDriver = Callable[[StockSettings, str, str, int], "subprocess.Popen[bytes]"]


@pytest.fixture
def settings(stock_settings: StockSettings) -> StockSettings:
    """Small batches and short timeouts, so a test sees many batches and quick recoveries."""
    return dataclasses.replace(
        stock_settings,
        relay_batch=10,
        relay_kafka_timeout_s=3.0,
        relay_transaction_timeout_ms=10_000,
        relay_claim_idle_ms=1000,
    )


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
        "LIVESALE_RELAY_KAFKA_TIMEOUT_S": str(settings.relay_kafka_timeout_s),
        "LIVESALE_RELAY_TRANSACTION_TIMEOUT_MS": str(settings.relay_transaction_timeout_ms),
    }


@pytest.fixture
def spawn_driver(tmp_path: Path) -> Iterator[SpawnDriver]:
    """Start relays that kill themselves at a point; any left is killed when the test ends."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(
        settings: StockSettings, name: str, point: str, after: int
    ) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.relay_driver", name, point, str(after)],
                env=relay_env(settings),
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


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
    order_schema = json.loads((SCHEMAS / "order_confirmed.v1.json").read_text())
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


@pytest.mark.parametrize("point", POINTS)
async def test_a_relay_killed_at_any_point_of_a_batch_and_restarted_publishes_once(
    keeper: StockKeeper,
    redis: Redis,
    settings: StockSettings,
    spawn_driver: SpawnDriver,
    point: str,
) -> None:
    """Guards against the duplicates after a SIGKILL (1,290 of 5,000 orders twice): a relay
    killed before sending, inside its transaction, or after the commit but before
    acknowledging the outbox, then restarted under its name, leaves each order exactly once
    in a read-committed reading and loses none."""
    order_ids = await sale(keeper, offers=2, orders_each=60)
    killed(spawn_driver(settings, "relay-a", point, 2))
    assert 0 < await outbox_depth(redis) < len(order_ids), "not killed mid-drain"
    assert await pending_of(redis, order_ids, "relay-a") > 0

    await drain(redis, settings, "relay-a")

    seen = await assert_exactly_once(settings, order_ids)
    if point == "before_commit":
        # The killed transaction's messages are in the log, aborted: only read-uncommitted
        # readers see them, which is what read_committed is for.
        assert seen > len(order_ids)
    else:
        # Nothing sent twice at all: the committed batch was acknowledged, not re-sent.
        assert seen == len(order_ids)


@pytest.mark.parametrize("point", POINTS)
async def test_two_relays_one_killed_mid_drain_the_other_takes_over_exactly_once(
    keeper: StockKeeper,
    redis: Redis,
    settings: StockSettings,
    spawn_driver: SpawnDriver,
    point: str,
) -> None:
    """Two relays share the outboxes; one dies with SIGKILL mid-drain at each point of a
    batch. The other takes its pending entries over under the dead relay's transactional
    id: every order once for a read-committed fulfilment consumer, none lost."""
    order_ids = await sale(keeper, offers=4, orders_each=60)
    doomed = spawn_driver(settings, "relay-a", point, 3)

    async def relay_a_started() -> bool:
        return await outbox_depth(redis) < len(order_ids)

    await wait_for(relay_a_started, 60, "relay-a to send its first batch")
    survivor = OutboxRelay(redis, settings, "relay-b")
    task = asyncio.create_task(survivor.run())
    try:
        await asyncio.to_thread(killed, doomed)
        left_behind = await pending_of(redis, order_ids, "relay-a")

        async def drained() -> bool:
            return await outbox_depth(redis) == 0

        await wait_for(drained, 60, "relay-b to drain the outboxes, relay-a's share included")
        assert await pending_of(redis, order_ids, "relay-a") == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert left_behind > 0, "relay-a left nothing to take over"

    seen = await assert_exactly_once(settings, order_ids)
    if point == "before_ack":
        assert seen == len(order_ids), "relay-a's committed batch was sent again"

    shipped: list[str] = []

    async def ship(order: dict[str, Any]) -> None:
        shipped.append(order["order_id"])

    stop = asyncio.Event()
    consumer = FulfilmentConsumer(redis, settings, "warehouse-test", ship)
    consuming = asyncio.create_task(consumer.run(stop))

    async def all_read() -> bool:
        return len(shipped) >= len(order_ids)

    await wait_for(all_read, 60, "the fulfilment consumer to read every order")
    await asyncio.sleep(0.5)
    stop.set()
    await consuming
    assert sorted(shipped) == sorted(order_ids)
    assert consumer.duplicates == 0


@pytest.mark.slow
@pytest.mark.parametrize("outage", ["stopped", "frozen", "frozen_at_commit"])
async def test_kafka_away_longer_than_every_timeout_publishes_each_order_once(
    keeper: StockKeeper,
    kafka_broker: KafkaBroker,
    settings: StockSettings,
    monkeypatch: pytest.MonkeyPatch,
    outage: str,
) -> None:
    """Guards against the duplicates after a plain outage (50-98 of 200 orders twice): the
    relay gave up on a batch, dropped its producer, whose retries landed when the broker
    returned, and sent the batch again with a new one. Orders keep coming while the broker
    is away for longer than the relay's Kafka and transaction timeouts: stopped, frozen
    (SIGSTOP: what was sent before is served when it wakes up, as the old producer's
    retries were), or frozen just as a batch's commit is sent (the relay gives up on a
    commit that Kafka may then carry out). Afterwards each order is in Kafka once for a
    read-committed reader."""
    settings = dataclasses.replace(
        settings, kafka_bootstrap=kafka_broker.bootstrap, relay_kafka_timeout_s=2.0
    )
    broker_pid = kafka_broker.process_id()
    assert broker_pid is not None
    frozen = asyncio.Event()
    if outage == "frozen_at_commit":
        commit = RelayTransactions.commit
        commits = 0

        async def freezing_commit(self: RelayTransactions) -> None:
            nonlocal commits
            commits += 1
            if commits == 5:
                os.kill(broker_pid, signal.SIGSTOP)
                frozen.set()
            await commit(self)

        monkeypatch.setattr(RelayTransactions, "commit", freezing_commit)
    offer_id = await open_offer(keeper, stock=5000)
    relay = OutboxRelay(keeper.redis, settings, "relay-outage")
    relay_task = asyncio.create_task(relay.run())
    order_ids: list[str] = []
    stop_buying = asyncio.Event()

    async def buyers() -> None:
        n = 0
        while not stop_buying.is_set() and n < 5000:
            order_ids.extend(await confirmed_orders(keeper, offer_id, range(n, n + 5)))
            n += 5
            await asyncio.sleep(0.05)

    buying = asyncio.create_task(buyers())
    try:
        if outage == "frozen_at_commit":
            await asyncio.wait_for(frozen.wait(), 60)
        else:

            async def flowing() -> bool:
                return relay.published >= 40

            await wait_for(flowing, 60, "the first orders to reach Kafka")
            if outage == "stopped":
                await asyncio.to_thread(kafka_broker.stop)
            else:
                os.kill(broker_pid, signal.SIGSTOP)
                frozen.set()
        # Longer than the relay's Kafka timeout, its producer's stop timeout, and the
        # transaction timeout (10 s), while orders keep arriving.
        await asyncio.sleep(12)
        stop_buying.set()
        await buying
        assert await relay.outbox_depth() > 0, "no order waited for Kafka"
        if outage == "stopped":
            await asyncio.to_thread(kafka_broker.start)
        else:
            os.kill(broker_pid, signal.SIGCONT)

        async def drained() -> bool:
            return await relay.outbox_depth() == 0

        await wait_for(drained, 90, "the waiting orders to reach Kafka")
    finally:
        if frozen.is_set():
            os.kill(broker_pid, signal.SIGCONT)
        stop_buying.set()
        relay_task.cancel()
        await asyncio.gather(buying, relay_task, return_exceptions=True)

    # Frozen mid-flight, the log usually holds aborted copies (read_uncommitted sees them);
    # frozen at the commit, Kafka usually carries the commit out when it wakes, and the
    # relay, starting over, acknowledges that batch from its state record.
    await assert_exactly_once(settings, order_ids)


def test_livesale_relay_takes_its_name_from_livesale_relay_name(settings: StockSettings) -> None:
    """Guards against `livesale relay` ignoring LIVESALE_RELAY_NAME (documented default
    relay-1) and naming itself after the host: one name, one default, one place."""
    assert Settings.from_env({}).relay_name == "relay-1"
    env = {**relay_env(settings), "LIVESALE_RELAY_NAME": "relay-from-env"}
    relay = subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", "relay"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert relay.stderr is not None
    try:
        started = relay.stderr.readline()
        assert "Outbox relay relay-from-env:" in started, started
    finally:
        relay.send_signal(signal.SIGTERM)
        _, rest = relay.communicate(timeout=30)
    assert relay.returncode == 0, rest


def console_consumer(settings: StockSettings, isolation: str, expected: int) -> list[str]:
    """The keys kafka-console-consumer prints for the orders topic, as docs/fulfilment.md
    runs it, reading until ``expected`` messages or 3 s of silence."""
    libs = kafka_libs(StackSettings.from_env().cache_dir)
    done = subprocess.run(
        [
            "java",
            "-cp",
            f"{libs}/*",
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            "--bootstrap-server",
            settings.kafka_bootstrap,
            "--topic",
            settings.orders_topic,
            "--from-beginning",
            "--isolation-level",
            isolation,
            "--property",
            "print.key=true",
            "--max-messages",
            str(expected),
            "--timeout-ms",
            "3000",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line.split("\t")[0] for line in done.stdout.splitlines() if "\t" in line]


async def test_the_brokers_console_consumer_reads_committed_orders_once(
    keeper: StockKeeper, redis: Redis, settings: StockSettings, spawn_driver: SpawnDriver
) -> None:
    """Guards against the broker's own console consumer missing from the local stack (it
    is in kafka-tools since Kafka 3.7): run as docs/fulfilment.md shows it, with
    --isolation-level read_committed, it prints each order once after a relay was killed
    inside a transaction, while read_uncommitted shows the aborted copies too."""
    order_ids = await sale(keeper, offers=1, orders_each=30)
    killed(spawn_driver(settings, "relay-a", "before_commit", 1))
    await drain(redis, settings, "relay-a")

    committed = await asyncio.to_thread(console_consumer, settings, "read_committed", 100)
    assert sorted(committed) == sorted(order_ids)
    # The aborted batch is 10 orders: read_uncommitted reaches 40 without waiting.
    uncommitted = await asyncio.to_thread(
        console_consumer, settings, "read_uncommitted", len(order_ids) + 10
    )
    assert len(uncommitted) > len(order_ids)
    assert set(uncommitted) == set(order_ids)
