"""One relay at a time under a name (stockkeeper/relay/lease.py): two relays started under
the same name do not fence each other's Kafka producer over and over; one relays, the other
stands by and takes over when the first stops, at once on a clean stop, after the lease
lapses when it died. Every order once either way."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import relay_lease
from stockkeeper.relay import OutboxRelay, outbox_depth
from stockkeeper.relay.outbox import Outbox
from stockkeeper.settings import StockSettings

from .helpers import wait_for
from .relay_helpers import SpawnDriver, assert_exactly_once, killed, pending_of, sale

pytest_plugins = ["tests.relay_fixtures"]

NAME = "relay-same"


async def drained(redis: Redis) -> bool:
    return await outbox_depth(redis) == 0


def connections(caplog: pytest.LogCaptureFixture) -> int:
    """How many times a relay of NAME opened its producer (each one fences the last)."""
    return sum(m == f"Outbox relay {NAME} connected to Kafka" for m in caplog.messages)


async def test_two_relays_under_one_name_take_turns_instead_of_fencing_each_other(
    keeper: StockKeeper,
    redis: Redis,
    settings: StockSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Guards two machines left at the default name: each start of one's producer aborted
    the other's transaction, so both kept starting again. Here one producer is opened in
    all; the relay standing by says why, and takes over at once when the first stops
    cleanly (well before its lease of 30 s lapses)."""
    caplog.set_level(logging.INFO, logger="stockkeeper.relay")
    settings = dataclasses.replace(settings, relay_lease_ms=30_000)
    first_orders = await sale(keeper, offers=2, orders_each=30)
    relays = [OutboxRelay(redis, settings, NAME) for _ in range(2)]
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        await wait_for(lambda: drained(redis), 60, "the outboxes to drain")
        assert sorted(relay.standing_by for relay in relays) == [False, True]
        assert connections(caplog) == 1
        assert any("stands by" in m and NAME in m for m in caplog.messages)

        running = next(i for i, relay in enumerate(relays) if not relay.standing_by)
        tasks[running].cancel()  # a clean stop gives the name back
        await asyncio.gather(tasks[running], return_exceptions=True)
        later_orders = await sale(keeper, offers=1, orders_each=20)
        await wait_for(lambda: drained(redis), 10, "the relay standing by to take over")
        assert not relays[1 - running].standing_by
        assert connections(caplog) == 2
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert await redis.exists(relay_lease(NAME)) == 0  # the last one gave it back too
    await assert_exactly_once(settings, first_orders + later_orders)


async def test_a_relay_that_died_holding_its_name_is_replaced_when_its_lease_lapses(
    keeper: StockKeeper,
    redis: Redis,
    settings: StockSettings,
    spawn_driver: SpawnDriver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A relay killed mid-batch leaves its lease behind: a relay started under its name
    stands by until the lease lapses (3 s here), then relays its pending batch and the
    rest, each order once."""
    caplog.set_level(logging.INFO, logger="stockkeeper.relay")
    settings = dataclasses.replace(settings, relay_lease_ms=3000)
    order_ids = await sale(keeper, offers=2, orders_each=40)
    killed(spawn_driver(settings, NAME, "before_commit", 1))
    assert await pending_of(redis, order_ids, NAME) > 0
    assert await redis.exists(relay_lease(NAME)) == 1  # the dead relay's, not yet lapsed

    restarted = OutboxRelay(redis, settings, NAME)
    task = asyncio.create_task(restarted.run())
    try:
        await wait_for(lambda: drained(redis), 60, "the restarted relay to drain")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert any("stands by" in m for m in caplog.messages)
    assert any(f"Outbox relay {NAME} took over its name" in m for m in caplog.messages)
    await assert_exactly_once(settings, order_ids)


async def test_a_relay_that_lost_its_name_stands_by_and_takes_it_back_when_free(
    redis: Redis, settings: StockSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """The lease is kept beside the relay's loop (every third of its length, 1 s here): when
    another relay holds the name all the same (this one was not heard from in time), it
    stands by at its next look, and relays again once the name is free."""
    caplog.set_level(logging.INFO, logger="stockkeeper.relay")
    relay = OutboxRelay(redis, settings, NAME)
    task = asyncio.create_task(relay.run())
    try:

        async def holds() -> bool:
            return await redis.get(relay_lease(NAME)) == relay.lease.token

        await wait_for(holds, 10, "the relay to take its name")
        await redis.set(relay_lease(NAME), "elsewhere:1:cafe", px=60_000)

        async def standing_by() -> bool:
            return relay.standing_by

        await wait_for(standing_by, 10, "the relay to stand by")
        assert any("lost its name to elsewhere:1:cafe" in m for m in caplog.messages)
        await redis.delete(relay_lease(NAME))
        await wait_for(holds, 10, "the relay to take its name back")
        assert not relay.standing_by
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_entries_read_under_the_name_while_it_stood_by_are_sent_when_it_holds_it(
    keeper: StockKeeper, redis: Redis, settings: StockSettings
) -> None:
    """Guards orders stuck in the outbox: entries read under the name by another holder
    (fenced before it could publish them) stay pending under the name, and a relay read its
    own pending entries only after a failure. Taking the name makes it read them."""
    relay = OutboxRelay(redis, settings, NAME)
    task = asyncio.create_task(relay.run())
    try:
        first = await sale(keeper, offers=1, orders_each=12)
        await wait_for(lambda: drained(redis), 30, "the first orders to go out")
        await redis.set(relay_lease(NAME), "elsewhere:2:beef", px=60_000)

        async def standing_by() -> bool:
            return relay.standing_by

        await wait_for(standing_by, 10, "the relay to stand by")
        later = await sale(keeper, offers=1, orders_each=15)
        outbox = Outbox(redis, settings.relay_batch)
        # The other holder's read: a batch pending under the name, never published.
        assert len(await outbox.read(await outbox.streams(), NAME, pending=False)) == 10
        await redis.delete(relay_lease(NAME))
        await wait_for(lambda: drained(redis), 10, "the relay to send every entry")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await assert_exactly_once(settings, first + later)


async def test_entries_read_under_the_name_while_it_holds_it_go_out_within_a_lease_period(
    keeper: StockKeeper, redis: Redis, settings: StockSettings
) -> None:
    """Guards orders stuck in the outbox while the name's holder never fails: a former
    holder that did not yet know it was replaced read a batch under the name (pending under
    it, never published). The holder reads its own pending entries again each time it keeps
    its lease, so they go out within a period."""
    # A relay that rests 5 s after each empty look: the other's read lands in that rest.
    resting = dataclasses.replace(settings, relay_idle_poll_s=5.0, relay_idle_poll_max_s=5.0)
    relay = OutboxRelay(redis, resting, NAME)
    task = asyncio.create_task(relay.run())
    try:
        first = await sale(keeper, offers=1, orders_each=4)
        await wait_for(lambda: drained(redis), 30, "the first orders to go out")
        later = await sale(keeper, offers=1, orders_each=10)
        outbox = Outbox(redis, settings.relay_batch)
        # The former holder's read: every new entry, pending under the name.
        assert len(await outbox.read(await outbox.streams(), NAME, pending=False)) == 10
        assert not relay.standing_by
        await wait_for(lambda: drained(redis), 20, "the holder to send the entries")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await assert_exactly_once(settings, first + later)
