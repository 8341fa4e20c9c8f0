"""Operating the relay: its name from LIVESALE_RELAY_NAME, and the broker's console
consumer on the local stack reading committed orders."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from itertools import pairwise

from redis.asyncio import Redis

from deploy.kafka_broker import kafka_libs
from deploy.settings import StackSettings
from server.settings import Settings
from stockkeeper.audit import read_records
from stockkeeper.keeper import StockKeeper
from stockkeeper.relay import OutboxRelay
from stockkeeper.settings import StockSettings

from .helpers import wait_for
from .relay_helpers import SpawnDriver, drain, killed, relay_env, sale

pytest_plugins = ["tests.relay_fixtures"]


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


class CountingRelay(OutboxRelay):
    """A relay that notes when it looks at the outbox."""

    looks: list[float]

    async def relay_once(self) -> int:
        self.looks.append(asyncio.get_running_loop().time())
        return await super().relay_once()


async def test_a_quiet_relay_looks_less_often_and_an_order_after_the_quiet_spell_still_arrives(
    keeper: StockKeeper, settings: StockSettings
) -> None:
    """A relay with nothing to send waits twice as long after each empty look (20 ms up to
    320 ms): at rest it no longer reads every offer's outbox 50 times a second. Once it
    sends again, it looks again at once."""
    await sale(keeper, offers=1, orders_each=1)
    relay = CountingRelay(keeper.redis, settings, "relay-quiet")
    relay.looks = []
    task = asyncio.create_task(relay.run())

    def sent(count: int) -> Callable[[], Awaitable[bool]]:
        async def done() -> bool:
            return relay.published >= count

        return done

    try:
        # Opening the transactional producer takes a while: the quiet spell starts after.
        await wait_for(sent(1), 30, "the first order to be relayed")
        quiet_from = len(relay.looks)
        await asyncio.sleep(2.0)
        quiet = relay.looks[quiet_from:]
        gaps = [b - a for a, b in pairwise(quiet)]
        # 20, 40, 80, 160, 320, 320 ms...: a handful of looks in 2 s, not a hundred.
        assert len(quiet) < 15, gaps
        assert all(gap >= settings.relay_idle_poll_max_s * 0.9 for gap in gaps[-2:]), gaps
        # An order after the quiet spell reaches Kafka, the next look right after it.
        order_ids = await sale(keeper, offers=1, orders_each=1)
        await wait_for(sent(2), 10, "the order after the quiet spell to be relayed")
        sending_look = len(relay.looks) - 1
        await asyncio.sleep(0.3)
        after = relay.looks[sending_look:]
        assert after[1] - after[0] < 0.1, after  # back to 20 ms, not 320
        committed = await read_records(settings.kafka_bootstrap, settings.orders_topic, 2)
        assert order_ids[0] in {r.value["order_id"] for r in committed}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
