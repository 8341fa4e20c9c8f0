"""The show's numbers: conversion and interaction rate over distinct viewers, per-minute
timeline (live, in the report, as CSV)."""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from typing import Any, cast

from redis.asyncio import Redis

from server.app import create_app
from server.appkeys import MINUTE_NUMBERS, WATCH_TIME
from server.audience.keys import AudienceKeys
from server.audience.numbers import MINUTE_MS, build_timeline
from server.audience.settings import AudienceSettings
from server.room.keys import RoomKeys
from server.settings import Settings

from .helpers import HOST, viewer, wait_for
from .room_helpers import Client, events_until, of_type, token
from .test_team import host_account

T0 = 1_800_000_000_000 // MINUTE_MS * MINUTE_MS  # a minute's start
M = T0 // MINUTE_MS

PRODUCT = {
    "sku": "MUG-1",
    "title": "Mug",
    "unit_price": 1000,
    "currency": "EUR",
    "stock": 20,
    "per_user_limit": 5,
    "countdown_seconds": 0,
    "window_seconds": 600,
}


async def _show(client: Client) -> str:
    resp = await client.post(
        "/api/shows",
        json={"room_id": "show-n", "title": "Numbers", "products": [PRODUCT]},
        headers=HOST,
    )
    assert resp.status == 201, await resp.text()
    offer_id: str = (await resp.json())["offers"][0]["id"]
    await client.post("/api/shows/show-n/live", json={}, headers=HOST)
    await client.post(f"/api/shows/show-n/offers/{offer_id}/launch", json={}, headers=HOST)
    return offer_id


async def _buy(client: Client, offer_id: str, user: str, key: str) -> None:
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        json={"idempotency_key": key},
        headers=viewer(user),
    )
    assert resp.status == 201, await resp.text()
    hold = (await resp.json())["hold"]["hold_id"]
    resp = await client.post(
        f"/api/holds/{hold}/confirm", json={"payment_ref": f"psp-{key}"}, headers=viewer(user)
    )
    assert resp.status == 200, await resp.text()


def test_the_timeline_is_each_minutes_change_of_the_running_totals() -> None:
    raw = {
        f"{M}:viewers": "3",
        f"{M}:likes": "4",
        f"{M}:orders": "1",
        f"{M}:gmv.EUR": "1000",
        f"{M + 2}:viewers": "5",
        f"{M + 2}:likes": "10",
        f"{M + 2}:orders": "3",
        f"{M + 2}:reservations": "4",
        f"{M + 2}:gmv.EUR": "3000",
    }
    minutes = [m.as_dict() for m in build_timeline(raw, {str(M + 1): "7"}, T0, T0 + 2 * MINUTE_MS)]
    assert minutes == [
        {
            "at_ms": T0,
            "viewers": 3,
            "chat_messages": 0,
            "likes": 4,
            "reservations": 0,
            "orders": 1,
            "gmv": {"EUR": 1000},
        },
        # No sample: no process had viewers, and the totals did not move.
        {
            "at_ms": T0 + MINUTE_MS,
            "viewers": 0,
            "chat_messages": 7,
            "likes": 0,
            "reservations": 0,
            "orders": 0,
            "gmv": {},
        },
        {
            "at_ms": T0 + 2 * MINUTE_MS,
            "viewers": 5,
            "chat_messages": 0,
            "likes": 6,
            "reservations": 4,
            "orders": 2,
            "gmv": {"EUR": 2000},
        },
    ]


async def test_conversion_is_buyers_over_distinct_viewers_and_never_passes_100_percent(
    client: Client, redis: Redis
) -> None:
    """Guards against the dashboard's 200% conversion: buyers (and orders) were divided by
    the peak of viewers at once, which a show of short visits and repeat buyers passes."""
    offer_id = await _show(client)
    ws = await client.ws_connect("/rooms/show-n/live", params={"token": token("ann")})
    await events_until(ws, of_type("snapshot"))
    await ws.close()
    await _buy(client, offer_id, "ann", "press-ann-0001")
    await _buy(client, offer_id, "ann", "press-ann-0002")
    await _buy(client, offer_id, "bob", "press-bob-0001")  # bought from the shop's app
    figures = await (await client.get("/api/shows/show-n", headers=HOST)).json()
    assert (figures["orders"], figures["buyers"], figures["distinct_viewers"]) == (3, 2, 2)
    assert figures["conversion"] == 1.0


async def test_numbers_live_in_the_report_and_as_csv(client: Client, redis: Redis) -> None:
    offer_id = await _show(client)
    now = int(time.time() * 1000)
    minute = now // MINUTE_MS * MINUTE_MS
    # The show went live two minutes ago; the clock of the samples is moved by hand.
    await redis.hset(RoomKeys("show-n").show, "live_at", minute - 2 * MINUTE_MS)
    clock: dict[str, int] = {"now": minute - MINUTE_MS + 5_000}
    client.app[WATCH_TIME].clock = lambda: clock["now"]
    numbers = client.app[MINUTE_NUMBERS]
    ws = await client.ws_connect("/rooms/show-n/live", params={"token": token("ann")})
    await events_until(ws, of_type("snapshot"))
    await ws.send_json({"type": "chat", "text": "hi"})
    await events_until(ws, of_type("chat_ack"))
    await events_until(ws, of_type("counts", viewers=1))  # the processes' count is in
    await numbers.sample("show-n", clock["now"])
    await _buy(client, offer_id, "ann", "press-ann-0001")
    clock["now"] = int(time.time() * 1000)
    await numbers.sample("show-n", clock["now"])

    moderator = await host_account(redis, "mod")
    await client.put("/api/shows/show-n/team/mod", json={"role": "moderator"}, headers=HOST)
    live = await (await client.get("/api/shows/show-n/numbers", headers=moderator)).json()
    assert set(live["definitions"]) == {"distinct_viewers", "interaction_rate", "conversion"}
    assert (live["distinct_viewers"], live["chatters"], live["buyers"]) == (1, 1, 1)
    assert (live["interaction_rate"], live["conversion"]) == (1.0, 1.0)
    assert live["watch_time"]["distinct_viewers"] == 1
    assert live["timeline"][0]["at_ms"] == minute - 2 * MINUTE_MS
    assert sum(m["orders"] for m in live["timeline"]) == 1
    assert sum(m["gmv"].get("EUR", 0) for m in live["timeline"]) == 1000
    assert max(m["viewers"] for m in live["timeline"]) == 1
    resp = await client.get("/api/shows/show-n/timeline.csv", headers=moderator)
    assert resp.status == 403

    resp = await client.get("/api/shows/show-n/timeline.csv", headers=HOST)
    rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows[0] == [
        "minute_utc_ms",
        "viewers",
        "chat_messages",
        "likes",
        "reservations",
        "orders",
        "gmv_EUR",
    ]
    await ws.close()
    report: dict[str, Any] = await (
        await client.post("/api/shows/show-n/end", json={}, headers=HOST)
    ).json()
    audience = report["sections"]["audience"]
    assert audience["watch_time"]["distinct_viewers"] == 1
    assert sum(m["orders"] for m in audience["timeline"]) == 1
    text = await (await client.get("/api/shows/show-n/report.csv", headers=HOST)).text()
    assert "minute_utc_ms,viewers,chat_messages,likes,reservations,orders,gmv_EUR" in text


async def test_a_process_with_viewers_samples_the_room_by_itself(
    aiohttp_client: Any, app_settings: Settings, redis: Redis
) -> None:
    settings = dataclasses.replace(app_settings, audience=AudienceSettings(sample_interval_s=0.1))
    client: Client = await aiohttp_client(create_app(settings))
    ws = await client.ws_connect("/rooms/show-s/live", params={"token": token("sam")})
    await events_until(ws, of_type("snapshot"))

    async def sampled() -> bool:
        names = cast(list[str], await redis.hkeys(AudienceKeys("show-s").minutes))
        return any(name.endswith(":likes") for name in names)

    await wait_for(sampled, what="the sampler")
    await ws.close()
