"""A giveaway drawn where several processes see its window close at once: 2,000 entries over
two real server processes, one draw (one result on Kafka, one ``giveaway_drawn`` in the
room), and the winners recomputed by ``livesale verify-draw`` from the public record."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import aiohttp
import jsonschema
import msgpack
import pytest
from redis.asyncio import Redis

from server.giveaways.drawing import Drawing
from server.giveaways.service import Giveaways
from server.giveaways.settings import GiveawaySettings
from server.redis_client import connect
from server.room.keys import RoomKeys
from server.room.publisher import RoomPublisher
from server.room.settings import RoomSettings
from stockkeeper.audit import read_records
from stockkeeper.keeper import StockKeeper
from stockkeeper.settings import StockSettings

from .giveaway_helpers import ROOM, drawn, end_window, enter, start
from .helpers import HOST, serve_processes, viewer, wait_for
from .relay_helpers import drain
from .room_helpers import Client

pytest_plugins = ["tests.giveaway_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
RESULT_SCHEMA = json.loads(
    (ROOT / "stockkeeper" / "schemas" / "giveaway_result.v1.json").read_text()
)
ENTRANTS = 2000


async def room_events(type_: str, url: str) -> list[dict[str, Any]]:
    """The room's events of one type, private ones included, read from its history."""
    client = Redis.from_url(url, decode_responses=False)
    try:
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(RoomKeys(ROOM).events)
        )
        return [
            msgpack.unpackb(fields[b"d"], raw=False)
            for _, fields in entries
            if fields[b"t"] == type_.encode()
        ]
    finally:
        await client.aclose()


async def _call(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> Any:
    async with session.request(method, url, **kw) as resp:
        assert resp.status < 300, await resp.text()
        return await resp.json()


@pytest.mark.timeout(180)
async def test_2000_entries_over_two_processes_are_drawn_once_and_verify(
    redis: Redis, stock_settings: StockSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards against a draw made twice (two results, two winner lists) when both
    processes' checkers see the window close in the same instant."""
    topic = f"{stock_settings.orders_topic}.giveaways"
    monkeypatch.setenv("LIVESALE_GIVEAWAYS_TOPIC", topic)
    with serve_processes(stock_settings, tmp_path) as (one, two):
        async with aiohttp.ClientSession() as session:
            await _call(
                session,
                "POST",
                f"{one}/api/shows",
                json={"room_id": ROOM, "title": "Big"},
                headers=HOST,
            )
            await _call(session, "POST", f"{two}/api/shows/{ROOM}/live", headers=HOST)
            body = {"title": "Lucky bag", "sku": "BAG", "prizes": 25, "window_seconds": 600}
            created = await _call(
                session, "POST", f"{one}/api/shows/{ROOM}/giveaways", json=body, headers=HOST
            )
            giveaway_id = created["giveaway_id"]
            gate = asyncio.Semaphore(64)

            async def entry(n: int) -> int:
                base = (one, two)[n % 2]
                async with (
                    gate,
                    session.post(
                        f"{base}/api/giveaways/{giveaway_id}/entries",
                        headers=viewer(f"v{n % ENTRANTS:04}"),
                    ) as resp,
                ):
                    return resp.status

            # Every viewer once, and 200 of them twice (on the other process).
            statuses = await asyncio.gather(*(entry(n) for n in range(ENTRANTS + 200)))
            assert statuses.count(201) == ENTRANTS
            assert statuses.count(200) == 200
            # Both processes' checkers (every 0.25 s) find the window over at once.
            await end_window(redis, giveaway_id)

            async def is_drawn() -> bool:
                view = await _call(session, "GET", f"{two}/api/giveaways/{giveaway_id}")
                return bool(view["state"] == "drawn")

            await wait_for(is_drawn, 30, "the draw")
            await asyncio.sleep(1.0)  # more checker rounds on both processes
            view = await _call(session, "GET", f"{one}/api/giveaways/{giveaway_id}")
            assert view["entries"] == ENTRANTS
            assert len(view["winners"]) == 25

            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", "from server.cli import main; main()", "verify-draw",
                 f"{two}/api/giveaways/{giveaway_id}/draw"],
                capture_output=True, text=True, timeout=60, cwd=ROOT,
            )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("verified")
    winners = [w["user_id"] for w in view["winners"]]
    assert f"round 0 winners: {', '.join(winners)}" in done.stdout

    drawn_events = await room_events("giveaway_drawn", stock_settings.redis_url)
    assert [[w["user_id"] for w in e["winners"]] for e in drawn_events] == [winners]
    won = await room_events("giveaway_won", stock_settings.redis_url)
    assert len(won) == 25

    await drain(redis, stock_settings, "relay-giveaway-processes")
    results = await read_records(stock_settings.kafka_bootstrap, topic, expected=1, settle_s=2)
    assert len(results) == 1
    jsonschema.validate(results[0].value, RESULT_SCHEMA)
    assert results[0].value["winners"] == winners
    assert results[0].value["entries_count"] == ENTRANTS


async def test_many_checkers_racing_on_one_closed_window_draw_it_once(
    gw_client: Client, redis: Redis, stock_settings: StockSettings, keeper: StockKeeper,
    giveaway_settings: GiveawaySettings,
) -> None:  # fmt: skip
    """Guards against the close-then-draw steps letting two callers both store a draw."""
    giveaway_id = (await start(gw_client, prizes=3))["giveaway_id"]
    for n in range(40):
        await enter(gw_client, giveaway_id, f"v{n}")
    clients = [connect(stock_settings.redis_url) for _ in range(8)]
    rooms = connect(stock_settings.redis_url, decode=False)
    try:
        publisher = RoomPublisher(rooms, RoomSettings())
        drawings = [Drawing(Giveaways(c, publisher, keeper, giveaway_settings)) for c in clients]
        await end_window(redis, giveaway_id)
        mine = await asyncio.gather(*(d.close_and_draw(giveaway_id) for d in drawings * 3))
    finally:
        for c in [*clients, rooms]:
            await c.aclose()
    view = await drawn(gw_client, giveaway_id)
    # The app's own checker races too: at most one of these calls drew it.
    assert sum(mine) <= 1
    assert len(await room_events("giveaway_drawn", stock_settings.redis_url)) == 1
    assert await redis.xlen(f"ls:{{giveaway:{giveaway_id}}}:outbox") == 1
    assert len(view["winners"]) == 3
