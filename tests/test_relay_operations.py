"""Operating the relay: its name from LIVESALE_RELAY_NAME, and the broker's console
consumer on the local stack reading committed orders."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

from redis.asyncio import Redis

from deploy.kafka_broker import kafka_libs
from deploy.settings import StackSettings
from server.settings import Settings
from stockkeeper.keeper import StockKeeper
from stockkeeper.settings import StockSettings

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
