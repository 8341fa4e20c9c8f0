"""Shared helpers of the tests: tokens, offers, invariants, reading Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from deploy.stack import free_ports, port_open
from server.hosts.accounts import HostAccounts
from server.redis_client import connect
from server.tokens import mint_viewer_token
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import OfferSpec
from stockkeeper.reconcile import reconcile_offers
from stockkeeper.settings import StockSettings

VIEWER_SECRET = "test-viewer-secret"
HOST_ID = "test-host"
HOST_PASSWORD = "correct horse battery"
HOST_TOKEN = "lsh_test-host-token"
HOST = {"Authorization": f"Bearer {HOST_TOKEN}"}


def server_env(settings: StockSettings, port: int) -> dict[str, str]:
    """The environment of a `livesale serve` process over the test Redis and Kafka."""
    return {
        **os.environ,
        "LIVESALE_REDIS_URL": settings.redis_url,
        "LIVESALE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LIVESALE_VIEWER_SECRET": VIEWER_SECRET,
        "LIVESALE_PORT": str(port),
        "LIVESALE_RUN_RELAY": "0",
        # No order status consumer joining one Kafka group from every test's servers.
        "LIVESALE_CONSUME_ORDER_STATUS": "0",
    }


@contextlib.contextmanager
def serve_processes(settings: StockSettings, logs: Path, count: int = 2) -> Iterator[list[str]]:
    """``count`` separate `livesale serve` processes over the test Redis; their base URLs.
    Each logs to a file in ``logs``; all are stopped when the block ends."""
    ports = free_ports(count)
    processes = []
    for port in ports:
        with (logs / f"server-{port}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", "from server.cli import main; main()", "serve"],
                    env=server_env(settings, port),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        deadline = time.monotonic() + 30
        while not all(port_open(p) for p in ports):
            assert time.monotonic() < deadline, "the servers did not start"
            assert all(p.poll() is None for p in processes), "a server exited"
            time.sleep(0.1)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)


async def sign_up_test_host_at(redis_url: str) -> None:
    """Sign the test host up on a Redis of a test's own."""
    redis = connect(redis_url)
    try:
        await sign_up_test_host(redis)
    finally:
        await redis.aclose()


async def sign_up_test_host(redis: Redis) -> None:
    """The host every test runs shows as: a password for the console, a token for the API."""
    accounts = HostAccounts(redis)
    await accounts.create(HOST_ID, HOST_PASSWORD, "Test Host")
    await accounts.add_api_token(HOST_ID, HOST_TOKEN, "tests")


def viewer(user_id: str) -> dict[str, str]:
    """Headers of a signed-in viewer."""
    return {"Authorization": f"Bearer {mint_viewer_token(VIEWER_SECRET, user_id, user_id)}"}


def spec(**overrides: Any) -> OfferSpec:
    fields: dict[str, Any] = {
        "room_id": "room-1",
        "sku": "SKU-RED-MUG",
        "title": "Red mug",
        "unit_price": 1999,
        "currency": "EUR",
        "stock": 10,
        "per_user_limit": 1,
        "hold_seconds": 300,
    }
    fields.update(overrides)
    return OfferSpec(**fields)


async def open_offer(keeper: StockKeeper, **overrides: Any) -> str:
    """An offer on sale now, for ten minutes."""
    offer = await keeper.create_offer(spec(**overrides))
    await keeper.open_offer(offer.id, countdown_ms=0, window_ms=600_000)
    return offer.id


async def create_live_offer(
    session: aiohttp.ClientSession, base: str, stock: int, limit: int = 1, buckets: int = 1
) -> str:
    """An offer on sale now over the HTTP API of the server at ``base``; its id."""
    body = {
        "room_id": "storm-room",
        "sku": "SKU-HOT",
        "title": "Hot item",
        "unit_price": 500,
        "currency": "EUR",
        "stock": stock,
        "per_user_limit": limit,
        "buckets": buckets,
    }
    async with session.post(f"{base}/api/offers", json=body, headers=HOST) as resp:
        assert resp.status == 201
        offer_id: str = (await resp.json())["id"]
    window = {"countdown_seconds": 0, "window_seconds": 600}
    async with session.post(f"{base}/api/offers/{offer_id}/open", json=window, headers=HOST):
        pass
    return offer_id


async def assert_consistent(redis: Redis, offer_id: str) -> dict[str, int]:
    """The reconciliation's checks of the books (stockkeeper/reconcile.py, what ``livesale
    reconcile`` runs) find nothing: every unit is exactly one of available, held or sold in
    every bucket, held and sold match the holds, each buyer's units are in one bucket. The
    offer's books, summed (units on their way between buckets count as available)."""
    result = await reconcile_offers(redis, [offer_id])
    assert result.differences == [], result.report()
    c = result.offers[0].counters
    return {
        "total": c["total"] + c["sent_pending"],
        "available": c["available"] + c["sent_pending"],
        "held": c["held"],
        "sold": c["sold"],
    }


async def wait_for(predicate: Any, timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"Timed out waiting for {what}")
