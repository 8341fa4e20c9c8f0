"""Orders reach Kafka exactly once for a read-committed consumer, whatever is killed when.

Relays run as real processes (``tests/relay_driver.py``) killed with SIGKILL at an exact
point of a batch; a broker of the test's own is stopped for longer than every timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from typing import Any

import pytest
from redis.asyncio import Redis

from deploy.stack import KafkaBroker
from stockkeeper.fulfilment import FulfilmentConsumer
from stockkeeper.keeper import StockKeeper
from stockkeeper.relay import OutboxRelay, outbox_depth
from stockkeeper.relay.transactions import RelayTransactions
from stockkeeper.settings import StockSettings

from .helpers import open_offer, wait_for
from .relay_helpers import (
    POINTS,
    SpawnDriver,
    assert_exactly_once,
    confirmed_orders,
    drain,
    killed,
    pending_of,
    sale,
)

pytest_plugins = ["tests.relay_fixtures"]


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
