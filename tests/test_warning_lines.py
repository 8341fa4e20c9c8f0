"""Stock warning lines: a storm of buyers crosses a line once, a restock re-arms it, and each
crossing is one event in Kafka, valid against its schema; the console hears of it at once."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from redis.asyncio import Redis

from server.redis_client import connect
from server.room.publisher import RoomPublisher
from server.room.settings import RoomSettings
from server.warning_lines.lines import WarningLines
from server.warning_lines.watcher import WarningWatcher
from stockkeeper.audit import read_records
from stockkeeper.keeper import StockKeeper
from stockkeeper.settings import StockSettings

from .helpers import HOST, open_offer, viewer
from .relay_helpers import drain
from .room_helpers import Client, events_until, of_type
from .test_http_api import error_code

SCHEMA = json.loads(
    (
        Path(__file__).parents[1] / "server" / "warning_lines" / "schemas" / "stock_warning.v1.json"
    ).read_text()
)


async def _storm(keeper: StockKeeper, offer_id: str, buyers: range, checks: Any) -> None:
    """Every buyer reserves one unit at once while ``checks`` runs beside them."""

    async def buy(n: int) -> None:
        await keeper.reserve(offer_id, f"user-{n}", 1, f"press-{n:08d}")

    await asyncio.gather(*(buy(n) for n in buyers), checks)


async def test_a_storm_crosses_the_line_once_and_a_restock_rearms_it(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    topic = f"test.stock-warnings.{uuid.uuid4().hex[:8]}"
    offer_id = await open_offer(keeper, stock=40, room_id="room-1")
    # Three "processes" checking the same line over and over while buyers storm the offer.
    checkers = [WarningLines(redis, topic) for _ in range(3)]
    await checkers[0].set_line(offer_id, units=10)

    async def keep_checking() -> list[str]:
        outcomes: list[str] = []
        for _ in range(60):
            for lines in checkers:
                offer = await keeper.get_offer(offer_id)
                outcomes.append((await lines.check(offer_id, offer.available)).outcome)
            await asyncio.sleep(0)
        return outcomes

    await _storm(keeper, offer_id, range(35), keep_checking())
    final = await checkers[1].check(offer_id, 5)
    assert (final.outcome, final.available, final.line, final.crossings) == ("below", 5, 10, 1)

    await keeper.restock(offer_id, 20)
    assert (await checkers[2].check(offer_id, 25)).outcome == "rearmed"
    assert (await checkers[0].check(offer_id, 25)).outcome == "above"
    await _storm(keeper, offer_id, range(100, 120), keep_checking())
    assert (await checkers[0].check(offer_id, 5)).crossings == 2
    line = await checkers[0].get(offer_id)
    assert (line.units, line.armed, line.crossings) == (10, False, 2)

    await drain(redis, stock_settings, "warning-relay")
    records = await read_records(stock_settings.kafka_bootstrap, topic, expected=2, settle_s=1.5)
    assert len(records) == 2
    for record in records:
        jsonschema.validate(record.value, SCHEMA)
        assert record.key == offer_id.encode()
    assert [r.value["warning_id"] for r in records] == [f"{offer_id}:1", f"{offer_id}:2"]
    first = records[0].value
    assert (first["line"], first["line_units"], first["room_id"]) == (10, 10, "room-1")
    assert first["available"] <= 10


async def test_a_line_as_a_share_of_stock_and_clearing_it(
    redis: Redis, keeper: StockKeeper
) -> None:
    offer_id = await open_offer(keeper, stock=50)
    lines = WarningLines(redis, "test.unused")
    await lines.set_line(offer_id, share=0.2)
    assert (await lines.check(offer_id, 50)).line == 10
    await lines.set_line(offer_id)
    assert not (await lines.get(offer_id)).is_set
    assert (await lines.check(offer_id, 0)).outcome == "no_line"
    assert await lines.lined_offers() == set()


async def test_a_line_already_below_fires_at_once(redis: Redis, keeper: StockKeeper) -> None:
    offer_id = await open_offer(keeper, stock=3)
    lines = WarningLines(redis, "test.unused")
    await lines.set_line(offer_id, units=5)
    assert (await lines.check(offer_id, 3)).outcome == "crossed"
    assert (await lines.check(offer_id, 3)).outcome == "below"


async def test_the_watcher_checks_offers_it_is_told_changed(
    redis: Redis, keeper: StockKeeper, stock_settings: StockSettings
) -> None:
    offer_id = await open_offer(keeper, stock=4, room_id="room-w")
    lines = WarningLines(redis, "test.unused")
    await lines.set_line(offer_id, units=2)
    bytes_redis = connect(stock_settings.redis_url, decode=False)
    try:
        watcher = WarningWatcher(lines, keeper, RoomPublisher(bytes_redis, RoomSettings()))
        keeper.listener = watcher
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0.2)  # its first sweep learns the lined offers
        await _storm(keeper, offer_id, range(2), asyncio.sleep(0))
        for _ in range(50):
            if (await lines.get(offer_id)).crossings:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert (await lines.get(offer_id)).crossings == 1
    finally:
        await bytes_redis.aclose()


async def test_the_console_hears_of_a_crossing_at_once_over_the_api(
    client: Client, redis: Redis
) -> None:
    resp = await client.post(
        "/api/offers",
        json={
            "room_id": "show-1",
            "sku": "MUG",
            "title": "Mug",
            "unit_price": 500,
            "currency": "EUR",
            "stock": 5,
            "per_user_limit": 5,
        },
        headers=HOST,
    )
    offer_id = (await resp.json())["id"]
    await client.post(
        f"/api/offers/{offer_id}/open",
        json={"countdown_seconds": 0, "window_seconds": 60},
        headers=HOST,
    )
    resp = await client.put(f"/api/offers/{offer_id}/warning-line", json={"units": 2}, headers=HOST)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["armed"] is True
    console = await client.ws_connect("/rooms/show-1/live", params={"console": "1"})
    await events_until(console, of_type("snapshot"))
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        json={"idempotency_key": "press-000001", "quantity": 3},
        headers=viewer("ann"),
    )
    assert resp.status == 201, await resp.text()
    events = await events_until(console, of_type("stock_warning"))
    warning = events[-1]
    assert (warning["offer_id"], warning["available"], warning["line"]) == (offer_id, 2, 2)
    resp = await client.get(f"/api/offers/{offer_id}/warning-line", headers=HOST)
    assert (await resp.json())["crossings"] == 1
    await client.post(f"/api/offers/{offer_id}/restock", json={"quantity": 5}, headers=HOST)
    await events_until(console, of_type("stock_warning_cleared"))
    await console.close()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"units": 2, "share": 0.5}, 400, "invalid_field"),
        ({"share": 2}, 400, "invalid_field"),
        ({"units": -1}, 400, "out_of_range"),
        ({"line": 3}, 400, "unknown_field"),
    ],
)
async def test_bad_warning_lines_are_refused_with_a_code(
    client: Client, redis: Redis, body: Any, status: int, code: str
) -> None:
    resp = await client.post(
        "/api/offers",
        json={
            "room_id": "show-1",
            "sku": "M",
            "title": "M",
            "unit_price": 1,
            "currency": "EUR",
            "stock": 5,
        },
        headers=HOST,
    )
    offer_id = (await resp.json())["id"]
    resp = await client.put(f"/api/offers/{offer_id}/warning-line", json=body, headers=HOST)
    assert resp.status == status, await resp.text()
    assert await error_code(resp) == code
    resp = await client.put("/api/offers/nope/warning-line", json={"units": 1}, headers=HOST)
    assert resp.status == 404
