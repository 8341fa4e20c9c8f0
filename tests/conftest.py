"""Fixtures over the real Redis and Kafka that the test command started (``livesale stack up``).

Tests use Redis database 15, flushed before each test, and Kafka topics named for the test,
so they never touch what a developer's running service keeps in database 0.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from deploy.stack import KafkaBroker, RedisServer, free_port, free_ports
from server.app import create_app
from server.redis_client import connect
from server.settings import Settings
from stockkeeper.keeper import StockKeeper
from stockkeeper.settings import DEFAULT_KAFKA_BOOTSTRAP, StockSettings

from .helpers import VIEWER_SECRET, sign_up_test_host

REDIS_URL = os.environ.get("LIVESALE_TEST_REDIS_URL", "redis://127.0.0.1:16379/15")
#: The local 3-master Redis Cluster that `livesale stack up --cluster` starts.
CLUSTER_URL = os.environ.get("LIVESALE_TEST_REDIS_CLUSTER_URL", "redis-cluster://127.0.0.1:17001")
KAFKA_BOOTSTRAP = os.environ.get("LIVESALE_TEST_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP)

#: The Kafka topics this session's tests named, deleted when the session ends: a broker
#: kept between runs would otherwise pile up thousands of partitions, and take minutes to
#: load them when it starts again. Only this session's own: another run may share the broker.
SESSION_TOPICS: list[str] = []

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def stock_settings() -> StockSettings:
    run = uuid.uuid4().hex[:10]
    topics = [f"test.orders.{run}", f"test.refunds.{run}", f"test.relay-state.{run}"]
    SESSION_TOPICS.extend(topics)
    return StockSettings(
        redis_url=REDIS_URL,
        kafka_bootstrap=KAFKA_BOOTSTRAP,
        orders_topic=topics[0],
        refunds_topic=topics[1],
        # Per test: a relay killed mid-transaction in one test must not hold back the next
        # test's relays, which read this topic up to its end when they start.
        relay_state_topic=topics[2],
        topic_partitions=3,
        sweep_interval_s=0.05,
        relay_claim_idle_ms=1000,
    )


@pytest.fixture
async def redis(stock_settings: StockSettings) -> AsyncIterator[Redis]:
    """The flushed test database, with the test host signed up (API token HOST_TOKEN)."""
    client = connect(stock_settings.redis_url)
    await client.flushdb()
    await sign_up_test_host(client)
    yield client
    await client.aclose()


@pytest.fixture
async def keeper(redis: Redis, stock_settings: StockSettings) -> AsyncIterator[StockKeeper]:
    keeper = StockKeeper(redis, stock_settings)
    await keeper.start()
    yield keeper
    await keeper.close()


@pytest.fixture
def app_settings(stock_settings: StockSettings) -> Settings:
    return Settings(
        viewer_token_secret=VIEWER_SECRET,
        run_relay=False,
        run_sweeper=False,
        stock=stock_settings,
    )


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, app_settings: Settings, redis: Redis
) -> TestClient[web.Request, web.Application]:
    """The HTTP API from the app factory, over the flushed test database."""
    return await aiohttp_client(create_app(app_settings))


@pytest.fixture
def cluster_app_settings(app_settings: Settings) -> Settings:
    """The app's settings over the local Redis Cluster instead of one Redis."""
    return dataclasses.replace(
        app_settings, stock=dataclasses.replace(app_settings.stock, redis_url=CLUSTER_URL)
    )


@pytest.fixture
async def cluster_redis() -> AsyncIterator[Redis]:
    """The flushed Redis Cluster (every master), with the test host signed up."""
    client = connect(CLUSTER_URL)
    await client.flushdb()
    await sign_up_test_host(client)
    yield client
    await client.aclose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, to be stopped and restarted on purpose."""
    server = RedisServer(free_port(), tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def kafka_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A Kafka broker of this test's own, to be stopped and restarted on purpose."""
    port, controller_port = free_ports(2)
    broker = KafkaBroker(port, controller_port, tmp_path / "kafka", heap="384m")
    broker.start()
    yield broker
    broker.kill()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Delete the topics this session's tests made (``SESSION_TOPICS``); a broker that cannot
    be reached leaves them, with a note, and fails nothing."""
    if SESSION_TOPICS:
        try:
            asyncio.run(_delete_topics(SESSION_TOPICS))
        except Exception as exc:
            print(f"\nThe tests' Kafka topics were left on the broker ({exc!r}).")


async def _delete_topics(topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=30_000)
    await admin.start()
    try:
        made = sorted(set(topics) & set(await admin.list_topics()))
        for at in range(0, len(made), 200):
            await admin.delete_topics(made[at : at + 200])
    finally:
        await admin.close()
