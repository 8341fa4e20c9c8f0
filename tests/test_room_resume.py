"""Resuming a busy room: a viewer that reconnects again and again, with its last offset
(WebSocket ``since``, or Server-Sent Events' ``Last-Event-ID``), while events keep coming,
gets each of the room's events exactly once and in order. Across processes:
test_rooms_two_processes.py."""

from __future__ import annotations

import asyncio
import random

from server.appkeys import ROOM_PUBLISHER

from .room_helpers import (
    Client,
    Event,
    assert_each_event_once_in_order,
    busy,
    read_room_events,
    read_sse_room_events,
    token,
)

pytest_plugins = ["tests.room_fixtures"]

#: Events a second while viewers come and go: a lively chat.
BUSY = 40
RECONNECTS = 15


async def comes_back() -> None:
    """A viewer's network comes back at any moment, not just after a frame was written."""
    await asyncio.sleep(random.uniform(0, 0.05))


async def test_viewers_reconnecting_to_a_busy_room_get_each_event_once_in_order(
    room_client: Client,
) -> None:
    """Guards against the event a resuming viewer received twice in most busy reconnects:
    its history (or snapshot) already held events that the fan-out slice it joined had
    read but not yet written, and the slice then wrote them to it again. Signed-in
    viewers also get their own purchase news in its place, and nobody else's."""
    publisher = room_client.app[ROOM_PUBLISHER]
    users = ("v0", "v1", "v2")

    async def viewer(user: str) -> tuple[str, list[Event]]:
        # The first visit gets a snapshot; every later one resumes from the last offset.
        path, signed_in = "/rooms/show-1/live", {"token": token(user)}
        ws = await room_client.ws_connect(path, params=signed_in)
        first = await read_room_events(ws, wanted=1)
        await ws.close()
        start = next(e["offset"] for e in first if e["type"] == "snapshot")
        received = [e for e in first if "offset" in e and e["type"] != "snapshot"]
        for _ in range(RECONNECTS):
            since = received[-1]["offset"] if received else start
            await comes_back()
            ws = await room_client.ws_connect(path, params={**signed_in, "since": since})
            received += [e for e in await read_room_events(ws, wanted=2) if "offset" in e]
            await ws.close()
        return start, received

    async with busy(publisher, "show-1", BUSY, news_for=(*users, "someone-else")):
        visits = await asyncio.gather(*(viewer(user) for user in users))
    for user, (start, received) in zip(users, visits, strict=True):
        await assert_each_event_once_in_order(publisher, "show-1", start, received, user)


async def test_server_sent_events_resuming_a_busy_room_get_each_event_once_in_order(
    room_client: Client,
) -> None:
    """The same failure over Server-Sent Events, resumed with the Last-Event-ID header as
    browsers send it."""
    publisher = room_client.app[ROOM_PUBLISHER]
    start = await publisher.publish("show-1", "announcement", {"text": "before"})

    async def reader() -> list[Event]:
        received: list[Event] = []
        for _ in range(RECONNECTS):
            last = received[-1]["offset"] if received else start
            await comes_back()
            resp = await room_client.get("/rooms/show-1/events", headers={"Last-Event-ID": last})
            received += [e for e in await read_sse_room_events(resp, wanted=2) if "offset" in e]
            resp.close()
        return received

    async with busy(publisher, "show-1", BUSY):
        readers = await asyncio.gather(*(reader() for _ in range(3)))
    for received in readers:
        await assert_each_event_once_in_order(publisher, "show-1", start, received)
