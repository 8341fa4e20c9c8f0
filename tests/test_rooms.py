"""Live rooms over real Redis: joining, bad frames, resuming, slow viewers, Server-Sent
Events and shutdown. Chat and moderation are in test_room_chat.py, buying in
test_room_buying.py."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import orjson
import pytest

from server.api import room as room_api
from server.app import create_app
from server.appkeys import ROOM_HUB, ROOM_PUBLISHER
from server.room.settings import RoomSettings
from server.settings import Settings

from .helpers import wait_for
from .room_helpers import (
    Client,
    Connect,
    StalledViewer,
    ask,
    close_code,
    create_offer,
    events_until,
    of_type,
    read_sse,
)
from .room_helpers import token as token  # test_cluster, test_workers... import it from here

pytest_plugins = ["tests.room_fixtures"]


# ------------------------------------------------------------------ joining


async def test_a_viewer_gets_server_time_and_a_snapshot_on_joining(
    room_client: Client, connect: Connect
) -> None:
    offer = await create_offer(room_client, stock=7)
    ws = await room_client.ws_connect("/rooms/show-1/live")
    before = time.time() * 1000
    hello, snapshot = await events_until(ws, of_type("snapshot"))
    assert hello["type"] == "hello"
    assert abs(hello["server_time_ms"] - before) < 2000
    assert hello["user_id"] is None
    assert [o["id"] for o in snapshot["offers"]] == [offer["id"]]
    assert snapshot["offers"][0]["available"] == 7
    await ws.close()


async def test_an_unknown_room_name_or_bad_token_is_refused_before_the_upgrade(
    room_client: Client,
) -> None:
    resp = await room_client.get("/rooms/no%20such%20room/live")
    assert resp.status == 404
    resp = await room_client.get("/rooms/show-1/live", params={"token": "v1.bad.token"})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_token"


async def test_pages_from_other_sites_may_not_open_a_room_socket(room_client: Client) -> None:
    resp = await room_client.get("/rooms/show-1/live", headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "origin_not_allowed"


# ------------------------------------------------------------------ bad frames


async def test_bad_frames_get_error_events_and_the_socket_stays_open(connect: Connect) -> None:
    ws = await connect("gina")
    await ws.send_str("not json")
    [*_, error] = await events_until(ws, of_type("error"))
    assert error["code"] == "invalid_json"
    for message, code in (
        ('{"no": "type"}', "invalid_message"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "reserve", "offer_id": "1"}', "missing_field"),
        ('{"type": "auth", "token": "v1.x.y"}', "invalid_token"),
    ):
        await ws.send_str(message)
        [*_, error] = await events_until(ws, of_type("error"))
        assert error["code"] == code, message
    await ws.send_bytes(b"\x00\x01")
    [*_, error] = await events_until(ws, of_type("error"))
    assert error["code"] == "binary_not_supported"
    assert (await ask(ws, "ping"))["type"] == "pong"


async def test_a_bug_in_a_message_handler_answers_internal_error_and_keeps_the_socket(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(handler: room_api.SocketMessages, message: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setitem(room_api._HANDLERS, "ping", broken)
    ws = await connect("ines")
    failed = await ask(ws, "ping")
    assert (failed["type"], failed["code"]) == ("error", "internal_error")
    assert "went wrong on our side" in failed["message"]
    chatted = await ask(ws, "chat", text="still here")
    assert chatted["type"] == "chat_ack"


async def test_an_oversize_message_closes_the_socket_with_1009(connect: Connect) -> None:
    ws = await connect("hank")
    await ws.send_str('{"type": "chat", "text": "' + "x" * 10_000 + '"}')
    assert await close_code(ws) == 1009


def ping_of(size: int, request_id: str) -> str:
    """A ping message of exactly ``size`` bytes of UTF-8, padded with two-byte letters."""
    head, tail = f'{{"type": "ping", "request_id": "{request_id}", "pad": "', '"}'
    room = size - len(head) - len(tail)
    message = head + "é" * (room // 2) + "x" * (room % 2) + tail
    assert len(message.encode()) == size
    return message


async def test_a_message_of_exactly_the_announced_limit_is_taken_one_byte_more_is_not(
    room_client: Client,
) -> None:
    """Guards against an off-by-one: a message of exactly ``max_message_bytes`` (4,096, as
    hello announces and docs/rooms.md says) closed the socket with 1009."""
    ws = await room_client.ws_connect("/rooms/show-1/live")
    hello, *_ = await events_until(ws, of_type("snapshot"))
    limit = hello["limits"]["max_message_bytes"]
    assert limit == 4096
    await ws.send_str(ping_of(limit, "exact"))
    [*_, pong] = await events_until(ws, lambda e: e.get("request_id") == "exact")
    assert pong["type"] == "pong"
    await ws.send_str(ping_of(limit + 1, "over"))
    assert await close_code(ws) == 1009


# ------------------------------------------------------------------ resuming


async def test_a_viewer_who_reconnects_with_its_offset_misses_nothing(
    room_client: Client, connect: Connect
) -> None:
    viewer, poster = await connect("mia"), await connect("poster")
    ack = await ask(poster, "chat", text="before the tunnel")
    await events_until(viewer, of_type("chat", offset=ack["offset"]))
    await viewer.close()
    missed = [(await ask(poster, "chat", text=f"missed {i}"))["offset"] for i in range(5)]
    back = await connect("mia", since=ack["offset"])
    events = await events_until(back, of_type("chat", offset=missed[-1]))
    chats = [e for e in events if e["type"] == "chat"]
    assert [e["offset"] for e in chats] == missed
    live = await ask(poster, "chat", text="after")
    await events_until(back, of_type("chat", offset=live["offset"]))


async def test_a_viewer_too_far_behind_gets_a_snapshot(
    aiohttp_client: Any, app_settings: Settings, redis: Any
) -> None:
    room = RoomSettings(history_length=5, chat_min_interval_ms=0, batch_window_s=0.02)
    client: Client = await aiohttp_client(create_app(dataclasses.replace(app_settings, room=room)))
    poster = await client.ws_connect("/rooms/show-1/live", params={"token": token("nia")})
    first = await ask(poster, "chat", text="old news")
    for i in range(300):
        await ask(poster, "chat", text=f"message {i}")
    back = await client.ws_connect("/rooms/show-1/live", params={"since": first["offset"]})
    hello, snapshot = await events_until(back, of_type("snapshot"))
    assert hello["type"] == "hello"
    assert snapshot["offset"] > first["offset"]
    await poster.close()
    await back.close()


async def test_viewers_in_many_slices_get_every_event_in_offset_order_with_their_own(
    aiohttp_client: Any, app_settings: Settings, redis: Any
) -> None:
    """A big room is written to a slice of viewers at a time while new events keep
    arriving; each viewer still gets every room event once, in offset order, and its own
    purchase news in its place among them (so its last offset is always safe to resume
    from), and nobody else's."""
    room = RoomSettings(batch_window_s=0.01, fan_out_slice=2)
    client: Client = await aiohttp_client(create_app(dataclasses.replace(app_settings, room=room)))
    users = [f"v{i}" for i in range(7)]
    sockets = [
        await client.ws_connect("/rooms/show-1/live", params={"token": token(user)})
        for user in users
    ]
    for ws in sockets:
        await events_until(ws, of_type("snapshot"))
    publisher = client.app[ROOM_PUBLISHER]
    published: list[tuple[str, str]] = []
    for burst in range(10):
        for i, user in enumerate(users):
            offset = await publisher.publish("show-1", "announcement", {"text": f"{burst}.{i}"})
            published.append((offset, ""))
            if (burst + i) % 3 == 0:
                news = {"status": "confirmed", "hold_id": f"h-{burst}-{i}"}
                published.append((await publisher.publish("show-1", "purchase", news, user), user))
        await asyncio.sleep(0.003)
    last = await publisher.publish("show-1", "announcement", {"text": "end"})
    published.append((last, ""))

    for user, ws in zip(users, sockets, strict=True):
        seen = await events_until(ws, of_type("announcement", offset=last))
        offsets = [e["offset"] for e in seen if "offset" in e and e["type"] != "snapshot"]
        assert offsets == [offset for offset, to in published if to in ("", user)], user
        await ws.close()


async def test_keepalives_go_only_to_rooms_with_nothing_else_to_say(
    aiohttp_client: Any, app_settings: Settings, redis: Any
) -> None:
    """A quiet room's viewers get the server's clock every keepalive period; a busy room's
    frames keep its sockets alive already, so a keepalive there would only cost every
    viewer one more write (a whole round over a big room)."""
    room = RoomSettings(batch_window_s=0.01, chat_min_interval_ms=0, keepalive_s=0.3)
    client: Client = await aiohttp_client(create_app(dataclasses.replace(app_settings, room=room)))
    quiet = await client.ws_connect("/rooms/quiet-1/live")
    busy = await client.ws_connect("/rooms/busy-1/live")
    for ws in (quiet, busy):
        await events_until(ws, of_type("snapshot"))
    publisher = client.app[ROOM_PUBLISHER]
    last = ""
    for i in range(15):  # 1.5 s of news, five keepalive periods
        last = await publisher.publish("busy-1", "announcement", {"text": f"news {i}"})
        await asyncio.sleep(0.1)
    keepalive = (await events_until(quiet, of_type("keepalive")))[-1]
    assert abs(keepalive["server_time_ms"] - time.time() * 1000) < 2000
    seen = await events_until(busy, of_type("announcement", offset=last))
    assert [e["type"] for e in seen if e["type"] == "keepalive"] == []
    await quiet.close()
    await busy.close()


# ------------------------------------------------------------------ slow viewers


async def test_a_viewer_that_stops_reading_is_dropped_and_the_others_keep_up(
    aiohttp_client: Any, app_settings: Settings, redis: Any
) -> None:
    """Guards against one stalled phone delaying a whole room: its queue is bounded, the
    server drops it, a viewer that keeps reading sees no growing delay, and the phone, once
    it reads again, finds close code 4001 after what was already sent."""
    room = RoomSettings(batch_window_s=0.02, max_queued_frames=50, max_queued_bytes=512 * 1024)
    client: Client = await aiohttp_client(create_app(dataclasses.replace(app_settings, room=room)))

    # A phone on a bad network: a small receive window, and it stops reading.
    assert client.port is not None
    stalled = await StalledViewer.open(client.port, "/rooms/show-1/live")
    reader = await client.ws_connect("/rooms/show-1/live")
    await events_until(reader, of_type("snapshot"))
    hub = client.app[ROOM_HUB]
    assert hub.viewers("show-1") == 2
    arrived: dict[str, float] = {}

    async def keep_reading() -> None:
        async for message in reader:
            for event in orjson.loads(message.data)["events"]:
                if event["type"] == "announcement" and event["text"].startswith("marker"):
                    arrived[event["offset"]] = time.monotonic()

    reading = asyncio.create_task(keep_reading())
    publisher = client.app[ROOM_PUBLISHER]
    sent: dict[str, float] = {}
    # Up to 12 MB: more than the kernel's socket buffers can hide from the server.
    for burst in range(240):
        await asyncio.gather(
            *(publisher.publish("show-1", "announcement", {"text": "x" * 1000}) for _ in range(50))
        )
        start = time.monotonic()
        sent[await publisher.publish("show-1", "announcement", {"text": f"marker {burst}"})] = start
        await asyncio.sleep(0.01)
        if hub.viewers("show-1") == 1:
            break
    assert hub.viewers("show-1") == 1, "the stalled viewer was never dropped"
    assert await stalled.close_code() == 4001
    await asyncio.sleep(0.3)
    reading.cancel()
    lags = [arrived[offset] - start for offset, start in sent.items() if offset in arrived]
    assert len(lags) == len(sent)
    assert max(lags) < 1.0, lags
    await reader.close()
    stalled.close()


# ------------------------------------------------------------------ Server-Sent Events


async def test_server_sent_events_carry_ids_and_resume_with_last_event_id(
    room_client: Client, connect: Connect
) -> None:
    poster = await connect("olga")
    resp = await room_client.get("/rooms/show-1/events")
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    await read_sse(resp, lambda e: e.get("event") == "snapshot")
    ack = await ask(poster, "chat", text="<i>hello SSE</i>")
    [*_, chat] = await read_sse(resp, lambda e: e.get("event") == "chat")
    assert chat["id"] == ack["offset"]
    assert '"text":"<i>hello SSE</i>"' in chat["data"]
    resp.close()
    missed = await ask(poster, "chat", text="while away")
    again = await room_client.get("/rooms/show-1/events", headers={"Last-Event-ID": ack["offset"]})
    [*_, chat] = await read_sse(again, lambda e: e.get("event") == "chat")
    assert chat["id"] == missed["offset"]
    again.close()


# ------------------------------------------------------------------ shutdown


async def test_shutdown_closes_sockets_with_going_away(
    aiohttp_client: Any, app_settings: Settings, redis: Any
) -> None:
    client: Client = await aiohttp_client(create_app(app_settings))
    ws = await client.ws_connect("/rooms/show-1/live")
    await events_until(ws, of_type("snapshot"))
    closing = asyncio.create_task(client.server.close())
    assert await close_code(ws) == 1001
    await closing


async def test_a_viewer_who_hangs_up_leaves_the_room_even_when_the_handler_is_cancelled(
    room_client: Client, connect: Connect
) -> None:
    """Guards against closed sockets left seated (counted, written to) for ever: the test
    server, as aiohttp's can be set to, cancels a handler whose client hung up, which cut
    the leaving short at its first await."""
    hub = room_client.app[ROOM_HUB]
    sockets = [await connect(f"viewer-{n}") for n in range(3)]
    assert hub.viewers("show-1") == 3
    for ws in sockets:
        await ws.close()

    async def emptied() -> bool:
        return hub.viewers("show-1") == 0 and hub.connection_count() == 0

    await wait_for(emptied, 5, "the viewers who hung up to leave the room")
