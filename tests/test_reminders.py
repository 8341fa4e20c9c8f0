"""Reminders of shows: a viewer asks once per show; at the set time before the start and
when the host goes live one event per viewer reaches Kafka (``shows.reminders``), valid
against its schema, exactly once per viewer and moment even with several processes."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.app import create_app
from server.settings import Settings
from server.shows.keys import REMINDERS_DUE, REMINDERS_OUTBOX, ReminderKeys, due_member
from stockkeeper.audit import read_records
from stockkeeper.relay import outbox_depth

from .conftest import AiohttpClient
from .helpers import HOST, serve_processes, server_env, wait_for
from .relay_helpers import drain
from .room_helpers import host, token

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "server/shows/schemas/reminder.v1.json").read_text()
)
LEAD_S = 900
Client = TestClient[web.Request, web.Application]


@pytest.fixture
def reminder_settings(app_settings: Settings) -> Settings:
    topic = f"test.reminders.{uuid.uuid4().hex[:8]}"
    schedule = dataclasses.replace(
        app_settings.schedule, reminders_topic=topic, reminder_poll_s=0.1
    )
    return dataclasses.replace(app_settings, schedule=schedule)


@pytest.fixture
async def rclient(
    aiohttp_client: AiohttpClient, reminder_settings: Settings, redis: Redis
) -> Client:
    return await aiohttp_client(create_app(reminder_settings))


def viewer(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id)}"}


def now_ms() -> int:
    return int(time.time() * 1000)


async def new_show(client: Client, room: str, starts_at_ms: int) -> None:
    await host(client, "/api/shows", {"room_id": room, "title": f"Show {room}", "products": []})
    await host(client, f"/api/shows/{room}/setup", {"starts_at_ms": starts_at_ms}, "PATCH")


async def remind(client: Client, room: str, user_id: str) -> Any:
    resp = await client.post(f"/api/rooms/{room}/reminders", json={}, headers=viewer(user_id))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def sent(redis: Redis, room: str) -> int:
    counts = await redis.hmget(ReminderKeys(room).show, "sent_soon", "sent_live")
    return sum(int(n or 0) for n in counts)


def valid(records: list[Any]) -> list[tuple[str, str, str]]:
    """Each record valid against reminder.v1.json; (moment, room, user) of each."""
    for record in records:
        jsonschema.validate(record.value, SCHEMA)
        assert record.key == record.value["user_id"].encode()
    return sorted((r.value["moment"], r.value["room_id"], r.value["user_id"]) for r in records)


async def test_a_viewer_asks_once_however_often_and_the_console_sees_how_many_asked(
    rclient: Client,
) -> None:
    await new_show(rclient, "preview-1", now_ms() + 3600_000)
    assert (await remind(rclient, "preview-1", "ann"))["viewers"] == 1
    assert (await remind(rclient, "preview-1", "ann"))["viewers"] == 1
    assert (await remind(rclient, "preview-1", "bob"))["viewers"] == 2

    setup = await host(rclient, "/api/shows/preview-1/setup", method="GET")
    assert setup["reminders"] == {"asked": 2, "sent_soon": 0, "sent_live": 0, "dropped": 0}
    mine = await rclient.get("/api/rooms/preview-1/reminders/me", headers=viewer("ann"))
    assert (await mine.json())["asked"] is True
    theirs = await rclient.get("/api/rooms/preview-1/reminders/me", headers=viewer("cy"))
    assert (await theirs.json())["asked"] is False


async def test_asking_needs_a_token_and_an_upcoming_show(rclient: Client) -> None:
    resp = await rclient.post("/api/rooms/preview-2/reminders", json={})
    assert (resp.status, (await resp.json())["error"]["code"]) == (401, "token_required")
    resp = await rclient.post("/api/rooms/nothing-here/reminders", json={}, headers=viewer("a"))
    assert (resp.status, (await resp.json())["error"]["code"]) == (404, "unknown_show")
    resp = await rclient.post("/api/rooms/bad%20room/reminders", json={}, headers=viewer("a"))
    assert (resp.status, (await resp.json())["error"]["code"]) == (404, "unknown_room")

    await new_show(rclient, "preview-2", now_ms() + 3600_000)
    resp = await rclient.post(
        "/api/rooms/preview-2/reminders", json={"when": "now"}, headers=viewer("a")
    )
    assert (resp.status, (await resp.json())["error"]["code"]) == (400, "unknown_field")
    await host(rclient, "/api/shows/preview-2/live", {})
    resp = await rclient.post("/api/rooms/preview-2/reminders", json={}, headers=viewer("a"))
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "show_already_live")
    await host(rclient, "/api/shows/preview-2/end", {})
    resp = await rclient.post("/api/rooms/preview-2/reminders", json={}, headers=viewer("a"))
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "show_ended")


async def test_moving_the_start_moves_the_reminders_not_yet_sent(
    rclient: Client, redis: Redis
) -> None:
    starts = now_ms() + 3 * 3600_000
    await new_show(rclient, "preview-3", starts)
    await remind(rclient, "preview-3", "ann")
    due = await redis.zscore(REMINDERS_DUE, due_member("soon", "preview-3"))
    assert due == starts - LEAD_S * 1000

    later = starts + 3600_000
    await host(rclient, "/api/shows/preview-3/setup", {"starts_at_ms": later}, "PATCH")
    due = await redis.zscore(REMINDERS_DUE, due_member("soon", "preview-3"))
    assert due == later - LEAD_S * 1000
    assert await redis.zcard(ReminderKeys("preview-3").pending("soon")) == 1
    assert await sent(redis, "preview-3") == 0

    # Taking the start time away: no 'soon' reminder is due until one is announced again.
    await host(rclient, "/api/shows/preview-3/setup", {"starts_at_ms": 0}, "PATCH")
    assert await redis.zscore(REMINDERS_DUE, due_member("soon", "preview-3")) is None


async def test_soon_and_live_reminders_reach_kafka_once_each_valid_against_the_schema(
    rclient: Client, redis: Redis, reminder_settings: Settings
) -> None:
    topic = reminder_settings.schedule.reminders_topic
    await new_show(rclient, "preview-4", now_ms() + 3600_000)
    for user in ("ann", "bob", "cy"):
        await remind(rclient, "preview-4", user)
    await remind(rclient, "preview-4", "ann")  # twice is once

    # The host moves the start to within the lead time: the 'soon' reminders are due now.
    await host(rclient, "/api/shows/preview-4/setup", {"starts_at_ms": now_ms() + 60_000}, "PATCH")

    async def soon_sent() -> bool:
        return await sent(redis, "preview-4") == 3

    await wait_for(soon_sent, what="the soon reminders")
    await host(rclient, "/api/shows/preview-4/live", {})
    await host(rclient, "/api/shows/preview-4/live", {})  # going live twice: once

    async def live_sent() -> bool:
        return await sent(redis, "preview-4") == 6

    await wait_for(live_sent, what="the live reminders")
    await drain(redis, reminder_settings.stock, "relay-reminders")

    records = await read_records(reminder_settings.stock.kafka_bootstrap, topic, expected=6)
    assert valid(records) == [
        (moment, "preview-4", user) for moment in ("live", "soon") for user in ("ann", "bob", "cy")
    ]
    by_id = {r.value["reminder_id"] for r in records}
    assert len(by_id) == 6
    live = [r.value for r in records if r.value["moment"] == "live"]
    assert all(v["live_at_ms"] > 0 and v["watch_url"] == "/watch/preview-4" for v in live)
    assert all(v["title"] == "Show preview-4" for v in live)

    report = await host(rclient, "/api/shows/preview-4/end", {})
    assert report["sections"]["reminders"] == {
        "asked": 3,
        "sent_soon": 3,
        "sent_live": 3,
        "dropped": 0,
    }


async def test_going_live_before_the_soon_reminder_sends_only_the_live_one(
    rclient: Client, redis: Redis, reminder_settings: Settings
) -> None:
    await new_show(rclient, "preview-5", now_ms() + 3600_000)
    await remind(rclient, "preview-5", "ann")
    await host(rclient, "/api/shows/preview-5/live", {})

    async def live_sent() -> bool:
        return await sent(redis, "preview-5") == 1

    await wait_for(live_sent, what="the live reminder")
    await drain(redis, reminder_settings.stock, "relay-reminders-5")
    topic = reminder_settings.schedule.reminders_topic
    records = await read_records(reminder_settings.stock.kafka_bootstrap, topic, expected=1)
    assert valid(records) == [("live", "preview-5", "ann")]
    setup = await host(rclient, "/api/shows/preview-5/setup", method="GET")
    assert setup["reminders"]["dropped"] == 1


async def test_two_processes_send_each_viewers_reminder_once(
    redis: Redis, reminder_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards against each process sending the same due reminders (both run the sender)."""
    topic = reminder_settings.schedule.reminders_topic
    monkeypatch.setenv("LIVESALE_REMINDERS_TOPIC", topic)
    users = [f"viewer-{n}" for n in range(120)]
    stock = reminder_settings.stock
    with serve_processes(stock, tmp_path) as (a, b):
        assert server_env(stock, 1)["LIVESALE_REMINDERS_TOPIC"] == topic
        async with aiohttp.ClientSession() as http:

            async def call(
                base: str, path: str, body: Any, headers: Any, method: str = "POST"
            ) -> Any:
                async with http.request(method, base + path, json=body, headers=headers) as r:
                    assert r.status < 300, await r.text()
                    return await r.json()

            room = "preview-two"
            show = {"room_id": room, "title": "Two processes", "products": []}
            await call(a, "/api/shows", show, HOST)
            setup = {"starts_at_ms": now_ms() + 3600_000}
            await call(a, f"/api/shows/{room}/setup", setup, HOST, "PATCH")
            for n, user in enumerate(users):
                await call(a if n % 2 else b, f"/api/rooms/{room}/reminders", {}, viewer(user))
            soon = {"starts_at_ms": now_ms() + 1000}
            await call(b, f"/api/shows/{room}/setup", soon, HOST, "PATCH")

            async def soon_sent() -> bool:
                return await sent(redis, room) == len(users)

            await wait_for(soon_sent, timeout_s=20, what="the soon reminders")
            await call(a, f"/api/shows/{room}/live", {}, HOST)

            async def all_sent() -> bool:
                return await sent(redis, room) == 2 * len(users)

            await wait_for(all_sent, timeout_s=20, what="the live reminders")
    assert await redis.xlen(REMINDERS_OUTBOX) == 2 * len(users)
    await drain(redis, stock, "relay-reminders-two")
    assert await outbox_depth(redis) == 0
    records = await read_records(stock.kafka_bootstrap, topic, expected=2 * len(users))
    assert valid(records) == sorted(
        (moment, "preview-two", user) for moment in ("soon", "live") for user in users
    )


async def test_the_front_page_lists_live_shows_then_upcoming_ones_by_start(
    rclient: Client, redis: Redis
) -> None:
    now = now_ms()
    await new_show(rclient, "later", now + 7200_000)
    await new_show(rclient, "sooner", now + 3600_000)
    await new_show(rclient, "forgotten", now - 7 * 3600_000)  # never went live
    await new_show(rclient, "gone", now + 600_000)
    await host(rclient, "/api/shows/gone/live", {})
    await host(rclient, "/api/shows/gone/end", {})
    await host(rclient, "/api/shows", {"room_id": "onair", "title": "On air", "products": []})
    await host(rclient, "/api/shows/onair/live", {})
    await host(rclient, "/api/shows", {"room_id": "unannounced", "title": "?", "products": []})
    listed = (await (await rclient.get("/api/schedule")).json())["shows"]
    assert [(s["room_id"], s["status"]) for s in listed] == [
        ("onair", "live"),
        ("sooner", "draft"),
        ("later", "draft"),
    ]
    assert listed[1]["starts_at_ms"] == now + 3600_000
    assert listed[1]["watch_url"] == "/watch/sooner"


async def test_an_ended_shows_reminder_keys_do_not_stay_forever(
    rclient: Client, redis: Redis
) -> None:
    await new_show(rclient, "preview-6", now_ms() + 3600_000)
    await remind(rclient, "preview-6", "ann")
    await host(rclient, "/api/shows/preview-6/live", {})
    await host(rclient, "/api/shows/preview-6/end", {})
    keys = ReminderKeys("preview-6")
    assert 0 < await redis.ttl(keys.asked) <= 30 * 86_400
    assert 0 < await redis.ttl(keys.show) <= 30 * 86_400
