"""Two server processes, one room: viewers on either see the same events in the same order."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest

from server.redis_client import connect
from server.room.publisher import RoomPublisher
from server.room.settings import RoomSettings
from stockkeeper.settings import StockSettings

from .helpers import HOST
from .room_helpers import (
    Event,
    ask,
    assert_each_event_once_in_order,
    busy,
    events_until,
    of_type,
    read_room_events,
    read_sse_room_events,
    within,
)
from .test_rooms import token

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.process_fixtures"]

#: The longest one step of a viewer (opening, closing) may take before the test says which
#: step it was, well inside the test's timeout.
STEP_S = 20


async def test_viewers_on_two_processes_see_the_same_room_in_the_same_order(
    two_servers: tuple[str, str],
) -> None:
    a, b = two_servers
    async with aiohttp.ClientSession() as session:
        watchers = [await session.ws_connect(f"{base}/rooms/show-2/live") for base in (a, b)]
        for ws in watchers:
            await events_until(ws, of_type("snapshot"))
        posters = [
            await session.ws_connect(f"{base}/rooms/show-2/live", params={"token": token(user)})
            for base, user in ((a, "on-a"), (b, "on-b"))
        ]
        for ws in posters:
            await events_until(ws, of_type("snapshot"))

        async def chat(ws: aiohttp.ClientWebSocketResponse, who: str) -> None:
            for i in range(6):
                answer = await ask(ws, "chat", text=f"{who} says {i}")
                assert answer["type"] == "chat_ack", answer
                await asyncio.sleep(1.05)  # the default one-message-a-second rule

        async def host_actions() -> None:
            async with session.post(
                f"{b}/api/offers",
                headers=HOST,
                json={
                    "room_id": "show-2",
                    "sku": "S",
                    "title": "Offer from B",
                    "unit_price": 100,
                    "currency": "EUR",
                    "stock": 5,
                },
            ) as resp:
                offer = await resp.json()
            async with session.post(
                f"{a}/api/offers/{offer['id']}/open",
                headers=HOST,
                json={"countdown_seconds": 0, "window_seconds": 60},
            ):
                pass
            for i in range(5):
                async with session.post(
                    f"{a if i % 2 else b}/api/rooms/show-2/announcements",
                    headers=HOST,
                    json={"text": f"news {i}"},
                ):
                    pass
                await asyncio.sleep(0.2)

        await asyncio.gather(chat(posters[0], "a"), chat(posters[1], "b"), host_actions())
        async with session.post(
            f"{a}/api/rooms/show-2/announcements", headers=HOST, json={"text": "the end"}
        ):
            pass
        seen = [await events_until(ws, of_type("announcement", text="the end")) for ws in watchers]
        for ws in watchers + posters:
            await ws.close()

    ordered = [
        # State events (counts, stock) are per window and may be merged; the rest must match.
        [
            (e["offset"], e["type"])
            for e in events
            if "offset" in e and e["type"] not in ("counts", "stock", "snapshot")
        ]
        for events in seen
    ]
    assert ordered[0] == ordered[1]
    types = [t for _, t in ordered[0]]
    assert types.count("chat") == 12
    assert {"offer_added", "offer_announced", "announcement"} <= set(types)
    offsets = [o for o, _ in ordered[0]]
    assert offsets == sorted(offsets, key=lambda o: tuple(int(x) for x in o.split("-")))


async def test_viewers_resuming_a_busy_room_on_the_other_process_get_each_event_once(
    two_servers: tuple[str, str], stock_settings: StockSettings
) -> None:
    """Guards against the event a viewer received twice when it resumed, on either
    process, a room busy with about 40 events a second: what its history held was
    written to it again by the slice it joined. WebSocket ``since`` and SSE
    ``Last-Event-ID`` alike, each reconnect on the other process."""
    redis = connect(stock_settings.redis_url, decode=False)
    publisher = RoomPublisher(redis, RoomSettings())
    start = await publisher.publish("show-3", "announcement", {"text": "before"})

    async def over_websockets(session: aiohttp.ClientSession) -> list[Event]:
        received: list[Event] = []
        for i in range(16):
            since = received[-1]["offset"] if received else start
            await asyncio.sleep(random.uniform(0, 0.05))
            server = two_servers[i % 2]
            async with within(STEP_S, f"WebSocket {i}: opening on {server}"):
                ws = await session.ws_connect(
                    f"{server}/rooms/show-3/live", params={"since": since}
                )
            received += [e for e in await read_room_events(ws, wanted=2) if "offset" in e]
            # aiohttp's close waits for the server's close frame, its timeout restarting at
            # each frame that comes first: in a busy room only this bound ends a lost one.
            async with within(STEP_S, f"WebSocket {i}: closing on {server}"):
                await ws.close()
        return received

    async def over_sse(session: aiohttp.ClientSession) -> list[Event]:
        received: list[Event] = []
        for i in range(16):
            last = received[-1]["offset"] if received else start
            await asyncio.sleep(random.uniform(0, 0.05))
            server = two_servers[i % 2]
            async with within(STEP_S, f"event stream {i}: opening on {server}"):
                resp = await session.get(
                    f"{server}/rooms/show-3/events", headers={"Last-Event-ID": last}
                )
            try:
                events = await read_sse_room_events(resp, wanted=2)
            finally:
                # Not fully read: aiohttp closes the connection (nothing to wait for).
                resp.close()
            received += [e for e in events if "offset" in e]
        return received

    try:
        async with aiohttp.ClientSession() as session, busy(publisher, "show-3", 40):
            viewers = await asyncio.gather(
                over_websockets(session), over_websockets(session), over_sse(session)
            )
        for received in viewers:
            await assert_each_event_once_in_order(publisher, "show-3", start, received)
    finally:
        await redis.aclose()
