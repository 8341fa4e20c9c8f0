"""Purchase storms over HTTP: thousands of buyers at once, never an oversold unit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server.app import create_app
from server.settings import Settings
from stockkeeper.audit import read_topic

from .helpers import assert_consistent, create_live_offer, viewer

SCHEMAS = Path(__file__).parents[1] / "stockkeeper" / "schemas"


async def start_server(settings: Settings) -> TestServer:
    server = TestServer(create_app(settings))
    await server.start_server()
    return server


async def storm(
    session: aiohttp.ClientSession, base: str, offer_id: str, presses: list[tuple[str, int]]
) -> list[tuple[str, int, dict[str, Any]]]:
    """Every (user, quantity) press at once; returns (user, status, body) per press."""
    start = asyncio.Event()

    async def press(n: int, user: str, quantity: int) -> tuple[str, int, dict[str, Any]]:
        await start.wait()
        async with session.post(
            f"{base}/api/offers/{offer_id}/reservations",
            json={"quantity": quantity, "idempotency_key": f"press-{n:06}"},
            headers=viewer(user),
        ) as resp:
            return user, resp.status, await resp.json()

    tasks = [asyncio.create_task(press(n, u, q)) for n, (u, q) in enumerate(presses)]
    await asyncio.sleep(0.05)
    start.set()
    return await asyncio.gather(*tasks)


async def available(session: aiohttp.ClientSession, base: str, offer_id: str) -> int:
    """The offer's available units as the API shows them (summed over its buckets)."""
    async with session.get(f"{base}/api/offers/{offer_id}") as resp:
        units: int = (await resp.json())["available"]
        return units


@pytest.mark.parametrize("buckets", [1, 8])
async def test_2000_buyers_against_100_units_hold_exactly_100(
    app_settings: Settings, redis: Redis, buckets: int
) -> None:
    """Guards against stock going negative when decrement and check are separate steps,
    and against a unit sold twice while a hot offer's buckets hand units to each other."""
    server = await start_server(app_settings)
    base = str(server.make_url("")).rstrip("/")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        offer_id = await create_live_offer(session, base, stock=100, limit=1, buckets=buckets)
        # 2,000 buyers, a fifth of them pressing twice in the same instant.
        presses = [(f"buyer-{i}", 1) for i in range(2000)]
        presses += [(f"buyer-{i}", 1) for i in range(0, 2000, 5)]
        answers = await storm(session, base, offer_id, presses)
    await server.close()

    statuses = Counter(
        (status, body.get("outcome") or body["error"]["code"]) for _, status, body in answers
    )
    assert statuses[(201, "reserved")] == 100
    assert set(statuses) <= {(201, "reserved"), (409, "sold_out"), (409, "limit_reached")}
    winners = Counter(user for user, status, _ in answers if status == 201)
    assert max(winners.values()) == 1
    books = await assert_consistent(redis, offer_id)
    assert books == {"total": 100, "available": 0, "held": 100, "sold": 0}


@pytest.mark.parametrize("buckets", [1, 8])
async def test_multi_unit_storm_with_limit_3_never_oversells_and_every_order_reaches_kafka(
    app_settings: Settings, redis: Redis, buckets: int
) -> None:
    """Then confirming every hold puts exactly one message per order on the orders topic."""
    settings = dataclasses.replace(app_settings, run_relay=True)
    server = await start_server(settings)
    base = str(server.make_url("")).rstrip("/")
    rng = random.Random(7)
    presses = [(f"buyer-{i}", rng.randint(1, 3)) for i in range(2000)]
    presses += [(f"buyer-{i}", rng.randint(1, 3)) for i in range(0, 2000, 3)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        offer_id = await create_live_offer(session, base, stock=100, limit=3, buckets=buckets)
        answers = await storm(session, base, offer_id, presses)
        # Whatever single units a multi-unit storm left over go to late single presses.
        extra = 0
        while await available(session, base, offer_id):
            extra += 1
            answers += await storm(session, base, offer_id, [(f"late-{extra}", 1)])
        holds = [(user, body["hold"]) for user, status, body in answers if status == 201]
        per_user: Counter[str] = Counter()
        for user, hold in holds:
            per_user[user] += hold["quantity"]
        assert sum(per_user.values()) == 100
        assert max(per_user.values()) <= 3

        async def pay(user: str, hold: dict[str, Any]) -> dict[str, Any]:
            async with session.post(
                f"{base}/api/holds/{hold['hold_id']}/confirm",
                json={"payment_ref": f"psp-{hold['hold_id']}"},
                headers=viewer(user),
            ) as resp:
                assert resp.status == 200
                order: dict[str, Any] = await resp.json()
                return order

        orders = await asyncio.gather(*(pay(user, hold) for user, hold in holds))
    books = await assert_consistent(redis, offer_id)
    assert books == {"total": 100, "available": 0, "held": 0, "sold": 100}

    messages = await read_topic(
        settings.stock.kafka_bootstrap, settings.stock.orders_topic, expected=len(orders)
    )
    await server.close()
    assert sorted(m["order_id"] for m in messages) == sorted(o["order_id"] for o in orders)
    assert sum(m["quantity"] for m in messages) == 100
    schema = json.loads((SCHEMAS / "order_confirmed.v2.json").read_text())
    for message in messages:
        jsonschema.validate(message, schema)
