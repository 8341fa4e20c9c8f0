"""Watch time: each signed-in viewer's time in a room, over processes, reconnects in a gap."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from server.app import create_app
from server.appkeys import WATCH_TIME
from server.audience.keys import AudienceKeys
from server.audience.settings import AudienceSettings
from server.audience.watch_time import WatchTime, wall_clock_ms
from server.settings import Settings
from stockkeeper.settings import StockSettings

from .helpers import serve_processes, wait_for
from .room_helpers import Client, events_until, of_type, token

GAP = AudienceSettings(reconnect_gap_ms=30_000)
S = 1000  # ms


class HandClock:
    """A clock the test moves by hand (epoch ms)."""

    def __init__(self, now_ms: int = 1_800_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def at(self, seconds: float) -> int:
        """Set the clock to ``seconds`` after the start; returns it in ms."""
        self.now_ms = 1_800_000_000_000 + int(seconds * S)
        return self.now_ms


async def test_a_visit_counts_from_entering_to_leaving(redis: Redis) -> None:
    watch, t0 = WatchTime(redis, GAP), 1_000_000
    assert (await watch.enter("r", "ann", t0)).outcome == "visit"
    assert await watch.seconds("r", "ann", t0 + 45 * S) == 45
    assert (await watch.leave("r", "ann", t0 + 60 * S)).outcome == "left"
    # Counted when she left, not up to now.
    assert await watch.seconds("r", "ann", t0 + 600 * S) == 60
    assert await watch.seconds("r", "nobody", t0) == 0


async def test_a_reconnect_within_the_gap_continues_the_visit(redis: Redis) -> None:
    watch, t0 = WatchTime(redis, GAP), 1_000_000
    await watch.enter("r", "ann", t0)
    await watch.leave("r", "ann", t0 + 60 * S)
    assert (await watch.enter("r", "ann", t0 + 80 * S)).outcome == "resumed"
    await watch.leave("r", "ann", t0 + 100 * S)
    assert await watch.seconds("r", "ann", t0 + 500 * S) == 100
    summary = await watch.summary("r", t0 + 500 * S)
    assert (summary.visits, summary.distinct_viewers) == (1, 1)


async def test_a_return_after_the_gap_is_a_new_visit_and_the_gap_is_not_counted(
    redis: Redis,
) -> None:
    watch, t0 = WatchTime(redis, GAP), 1_000_000
    await watch.enter("r", "ann", t0)
    await watch.leave("r", "ann", t0 + 60 * S)
    assert (await watch.enter("r", "ann", t0 + 200 * S)).outcome == "visit"
    assert await watch.seconds("r", "ann", t0 + 210 * S) == 70
    await watch.leave("r", "ann", t0 + 230 * S)
    assert await watch.seconds("r", "ann", t0 + 999 * S) == 90
    assert (await watch.summary("r", t0 + 999 * S)).visits == 2


async def test_two_connections_at_once_are_one_visit_until_the_last_closes(redis: Redis) -> None:
    watch, t0 = WatchTime(redis, GAP), 1_000_000
    await watch.enter("r", "ann", t0)
    assert (await watch.enter("r", "ann", t0 + 10 * S)).outcome == "joined"
    assert (await watch.leave("r", "ann", t0 + 20 * S)).outcome == "still_watching"
    assert await watch.seconds("r", "ann", t0 + 50 * S) == 50
    assert (await watch.leave("r", "ann", t0 + 50 * S)).outcome == "left"
    summary = await watch.summary("r", t0 + 100 * S)
    assert (summary.visits, summary.watching_now, summary.total_s) == (1, 0, 50)


async def test_a_leave_never_entered_changes_nothing(redis: Redis) -> None:
    """Guards against a leave after a flush (or a lost enter) leaving a negative count that
    would swallow the viewer's next visit."""
    watch, t0 = WatchTime(redis, GAP), 1_000_000
    assert (await watch.leave("r", "ann", t0)).outcome == "unknown"
    assert (await watch.enter("r", "ann", t0 + S)).outcome == "visit"
    assert await watch.seconds("r", "ann", t0 + 11 * S) == 10


async def test_average_and_median_are_per_distinct_viewer(redis: Redis) -> None:
    watch, t0 = WatchTime(redis, GAP), 1_000_000
    for user, seconds in (("a", 10), ("b", 20), ("c", 90)):
        await watch.enter("r", user, t0)
        await watch.leave("r", user, t0 + seconds * S)
    summary = await watch.summary("r", t0 + 999 * S)
    assert summary.as_dict() == {
        "distinct_viewers": 3,
        "watching_now": 0,
        "visits": 3,
        "average_s": 40,
        "median_s": 20,
        "total_s": 120,
    }


async def _ws(client: Client, user: str | None, console: bool = False) -> Any:
    params = {"token": token(user)} if user else {}
    if console:
        params["console"] = "1"
    ws = await client.ws_connect("/rooms/show-1/live", params=params)
    await events_until(ws, of_type("snapshot"))
    return ws


async def _left(redis: Redis, user: str) -> None:
    """Wait until the server has noted ``user``'s last connection closing."""

    async def noted() -> bool:
        return bool(await redis.hexists(AudienceKeys("show-1").left, user))

    await wait_for(noted, what=f"{user} leaving")


async def _entered(redis: Redis, user: str) -> None:
    async def noted() -> bool:
        return bool(await redis.hexists(AudienceKeys("show-1").open, user))

    await wait_for(noted, what=f"{user} entering")


async def test_viewers_on_two_processes_with_reconnects_inside_and_outside_the_gap(
    aiohttp_client: Any, app_settings: Settings, redis: Redis
) -> None:
    """Two apps (each a server process of its own: own hub, own process id) over one Redis,
    on a clock the test moves."""
    settings = dataclasses.replace(app_settings, audience=GAP)
    first: Client = await aiohttp_client(create_app(settings))
    second: Client = await aiohttp_client(create_app(settings))
    clock = HandClock()
    for client in (first, second):
        client.app[WATCH_TIME].clock = clock
    watch = first.app[WATCH_TIME]

    clock.at(0)
    ann = await _ws(first, "ann")
    bob = await _ws(second, "bob")
    await _entered(redis, "ann")
    await _entered(redis, "bob")

    clock.at(20)
    await bob.close()
    await _left(redis, "bob")
    clock.at(40)
    await ann.close()  # Ann's network drops...
    await _left(redis, "ann")

    clock.at(60)  # ...and she is back 20 s later, on the other process: the same visit.
    ann = await _ws(second, "ann")
    await _entered(redis, "ann")
    clock.at(100)  # Bob comes back after 80 s, on the first process: a new visit.
    bob = await _ws(first, "bob")
    await _entered(redis, "bob")

    clock.at(130)
    assert await watch.seconds("show-1", "ann", clock()) == 130
    assert await watch.seconds("show-1", "bob", clock()) == 20 + 30
    await ann.close()
    await bob.close()
    await _left(redis, "ann")
    await _left(redis, "bob")
    summary = await watch.summary("show-1", clock.at(900))
    assert summary.as_dict() == {
        "distinct_viewers": 2,
        "watching_now": 0,
        "visits": 3,
        "average_s": 90,
        "median_s": 90,
        "total_s": 180,
    }


async def test_the_console_and_anonymous_readers_are_not_counted_until_they_sign_in(
    aiohttp_client: Any, app_settings: Settings, redis: Redis
) -> None:
    client: Client = await aiohttp_client(create_app(app_settings))
    clock = HandClock()
    client.app[WATCH_TIME].clock = clock
    clock.at(0)
    console = await _ws(client, "host-1", console=True)
    reader = await _ws(client, None)
    clock.at(10)
    await reader.send_json({"type": "auth", "token": token("cat")})
    await events_until(reader, of_type("auth_ok"))
    clock.at(25)
    summary = await client.app[WATCH_TIME].summary("show-1", clock())
    assert (summary.distinct_viewers, summary.total_s) == (1, 15)
    assert client.app[WATCH_TIME].rooms_here() == ["show-1"]
    await reader.close()
    await _left(redis, "cat")
    await console.close()
    assert await client.app[WATCH_TIME].seconds("show-1", "cat", clock.at(99)) == 15


async def test_a_viewer_moving_between_two_server_processes_is_one_visit_within_the_gap(
    stock_settings: StockSettings, redis: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real `livesale serve` processes on the wall clock, with a 2 s gap: a reconnect to the
    other process at once continues the visit; one after 3 s is a second visit."""
    monkeypatch.setenv("LIVESALE_WATCH_GAP_S", "2")
    with serve_processes(stock_settings, tmp_path) as (first, second):
        async with aiohttp.ClientSession() as session:

            async def visit(base: str) -> None:
                ws = await session.ws_connect(
                    f"{base}/rooms/show-1/live", params={"token": token("eve")}
                )
                await events_until(ws, of_type("snapshot"))
                await _entered(redis, "eve")
                await asyncio.sleep(0.8)
                await ws.close()
                await _left(redis, "eve")

            await visit(first)
            await visit(second)  # back at once, on the other process
            await asyncio.sleep(3)
            await visit(first)
    watch = WatchTime(redis, AudienceSettings(reconnect_gap_ms=2000))
    summary = await watch.summary("show-1", wall_clock_ms())
    assert (summary.distinct_viewers, summary.visits, summary.watching_now) == (1, 2, 0)
    # About 1.7 s and 0.8 s watched; the 3 s away are not counted.
    assert 1 <= summary.total_s < 4
