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

from server.giveaways import keys
from server.giveaways.drawing import Drawing
from server.giveaways.keys import GiveawayKeys
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


async def test_a_draw_whose_process_died_before_announcing_it_is_announced_once_later(
    gw_client: Client,
    redis: Redis,
    stock_settings: StockSettings,
    keeper: StockKeeper,
    giveaway_settings: GiveawaySettings,
) -> None:
    """Guards against winners never told (no giveaway_drawn, no giveaway_won) when the
    process that stored the draw died before publishing it."""
    giveaway_id = (await start(gw_client, prizes=1))["giveaway_id"]
    await redis.zrem(keys.DUE, giveaway_id)  # out of the app's checker's sight for now
    for n in range(3):
        await enter(gw_client, giveaway_id, f"v{n}")
    # The window ends (without the checker's due list, which end_window would fill).
    await redis.hset(GiveawayKeys(giveaway_id).giveaway, "ends_at", 1)
    rooms = connect(stock_settings.redis_url, decode=False)
    try:
        dying = Drawing(
            Giveaways(redis, RoomPublisher(rooms, RoomSettings()), keeper, giveaway_settings)
        )
        await dying.giveaways.scripts.close(GiveawayKeys(giveaway_id))
        giveaway = await dying.giveaways.get(giveaway_id)
        assert (await dying._draw_round(giveaway, 0, 1, [], 0)).outcome == "drawn"
    finally:
        await rooms.aclose()
    # It died here, before announcing; its giveaway stays due. Once the draw is older than
    # a live process needs to announce it, a checker announces it.
    k = GiveawayKeys(giveaway_id)
    drawn_at = int(await redis.hget(k.giveaway, "drawn_at:0") or 0)
    await redis.hset(k.giveaway, "drawn_at:0", drawn_at - 60_000)
    await redis.zadd(keys.DUE, {giveaway_id: 1})

    async def announced() -> bool:
        return not await redis.zscore(keys.DUE, giveaway_id)

    await wait_for(announced, 10, "the draw to be announced")
    await asyncio.sleep(0.5)
    [event] = await room_events("giveaway_drawn", stock_settings.redis_url)
    view = await drawn(gw_client, giveaway_id)
    assert [w["user_id"] for w in event["winners"]] == [w["user_id"] for w in view["winners"]]
    assert len(await room_events("giveaway_won", stock_settings.redis_url)) == 1
