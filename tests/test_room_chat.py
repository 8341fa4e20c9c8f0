"""Live rooms over real Redis: chat, its rules and the host's moderation, likes."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from redis.asyncio import Redis

from server.app import create_app
from server.appkeys import ROOM_HUB
from server.room.keys import RoomKeys
from server.room.settings import RoomSettings
from server.settings import Settings

from .helpers import HOST, wait_for
from .room_helpers import Client, Connect, ask, close_code, events_until, host, of_type, send, token

pytest_plugins = ["tests.room_fixtures"]


# ------------------------------------------------------------------ chat


async def test_chat_reaches_every_viewer_as_the_same_plain_text(connect: Connect) -> None:
    alice, bob, anonymous = await connect("alice"), await connect("bob"), await connect()
    text = '<script>alert("hi")</script> & <b>bold</b>'
    ack = await ask(alice, "chat", text=text)
    assert ack["type"] == "chat_ack"
    for ws in (alice, bob, anonymous):
        [*_, chat] = await events_until(ws, of_type("chat"))
        assert chat["text"] == text
        assert (chat["user_id"], chat["name"], chat["offset"]) == (
            "alice",
            "Viewer alice",
            ack["offset"],
        )


async def test_reading_is_anonymous_but_chatting_needs_a_token(connect: Connect) -> None:
    ws = await connect()
    answer = await ask(ws, "chat", text="hello")
    assert (answer["type"], answer["code"]) == ("error", "token_required")
    answer = await ask(ws, "auth", token=token("carol"))
    assert answer == {"type": "auth_ok", "user_id": "carol", "request_id": answer["request_id"]}
    assert (await ask(ws, "chat", text="hello"))["type"] == "chat_ack"


async def test_chat_rules_length_rate_and_blocked_words(
    room_client: Client, connect: Connect, room_settings: RoomSettings
) -> None:
    ws = await connect("dave")
    too_long = await ask(ws, "chat", text="x" * (room_settings.chat_max_chars + 1))
    assert too_long["code"] == "invalid_chat"
    assert (await ask(ws, "chat", text="   "))["code"] == "invalid_chat"
    await host(room_client, "/api/rooms/show-1/blocked-words", {"words": ["Scam"]}, "PUT")
    await asyncio.sleep(0.1)
    assert (await ask(ws, "chat", text="total SCAM here"))["code"] == "blocked_word"
    assert (await ask(ws, "chat", text="lovely mug"))["type"] == "chat_ack"


async def test_a_viewer_posting_too_fast_is_told_when_to_retry(
    aiohttp_client: Any, app_settings: Settings, redis: Any
) -> None:
    settings = dataclasses.replace(app_settings, room=RoomSettings(chat_min_interval_ms=1000))
    client: Client = await aiohttp_client(create_app(settings))
    ws = await client.ws_connect("/rooms/show-1/live", params={"token": token("erin")})
    assert (await ask(ws, "chat", text="first"))["type"] == "chat_ack"
    second = await ask(ws, "chat", text="second")
    assert second["code"] == "rate_limited"
    assert 0 < second["retry_after_ms"] <= 1000
    await ws.close()


async def test_slow_mode_mute_delete_and_ban(room_client: Client, connect: Connect) -> None:
    frank, watcher = await connect("frank"), await connect("watcher")
    await host(room_client, "/api/rooms/show-1/slow-mode", {"seconds": 30})
    await events_until(watcher, of_type("slow_mode", slow_mode_s=30))
    assert (await ask(frank, "chat", text="one"))["type"] == "chat_ack"
    slowed = await ask(frank, "chat", text="two")
    assert slowed["code"] == "slow_mode"
    assert slowed["retry_after_ms"] > 25_000
    await host(room_client, "/api/rooms/show-1/slow-mode", {"seconds": 0})

    [*_, posted] = await events_until(watcher, of_type("chat", user_id="frank"))
    await host(room_client, f"/api/rooms/show-1/messages/{posted['offset']}/delete")
    await events_until(watcher, of_type("chat_deleted", message_offset=posted["offset"]))

    await host(room_client, "/api/rooms/show-1/mutes", {"user_id": "frank"})
    await events_until(watcher, of_type("user_muted", user_id="frank", muted=True))
    assert (await ask(frank, "chat", text="let me speak"))["code"] == "muted"
    await host(room_client, "/api/rooms/show-1/mutes", {"user_id": "frank", "muted": False})
    assert (await ask(frank, "chat", text="thanks"))["type"] == "chat_ack"

    await host(room_client, "/api/rooms/show-1/bans", {"user_id": "frank"})
    assert await close_code(frank) == 4003


async def test_a_banned_viewer_cannot_come_back_signed_in(
    room_client: Client, connect: Connect
) -> None:
    frank = await connect("frank")
    await host(room_client, "/api/rooms/show-1/bans", {"user_id": "frank"})
    assert await close_code(frank) == 4003
    # Signed in again, on a socket or on the events fallback: closed, or refused, at once.
    again = await room_client.ws_connect("/rooms/show-1/live", params={"token": token("frank")})
    assert await close_code(again) == 4003
    await again.close()
    events = await room_client.get("/rooms/show-1/events", params={"token": token("frank")})
    assert events.status == 403
    assert (await events.json())["error"]["code"] == "banned"
    # Signing in on a socket already open keeps the account out; the socket watches on.
    watching = await connect()
    assert (await ask(watching, "auth", token=token("frank")))["code"] == "banned"
    assert (await ask(watching, "chat", text="I am back"))["code"] == "token_required"
    # Other viewers are not touched by it.
    assert (await ask(await connect("grace"), "chat", text="hello"))["type"] == "chat_ack"


async def test_moderation_needs_the_host(room_client: Client) -> None:
    resp = await room_client.post("/api/rooms/show-1/bans", json={"user_id": "x"})
    assert resp.status == 401
    resp = await room_client.post(
        "/api/rooms/show-1/slow-mode", json={"seconds": 9999}, headers=HOST
    )
    assert resp.status == 400


async def test_announcements_and_pins_reach_viewers_and_the_snapshot(
    room_client: Client, connect: Connect
) -> None:
    ws = await connect()
    await host(room_client, "/api/rooms/show-1/announcements", {"text": "Giveaway at 9!"})
    await events_until(ws, of_type("announcement", text="Giveaway at 9!"))
    await host(
        room_client, "/api/rooms/show-1/announcements", {"text": "Free shipping", "pinned": True}
    )
    await events_until(ws, of_type("pinned_message", pinned_message="Free shipping"))
    later = await room_client.ws_connect("/rooms/show-1/live")
    [*_, snapshot] = await events_until(later, of_type("snapshot"))
    assert snapshot["pinned_message"] == "Free shipping"
    await later.close()


async def test_likes_and_viewers_are_counted_about_once_a_second(connect: Connect) -> None:
    kim, lee = await connect("kim"), await connect("lee")
    for _ in range(3):
        await send(kim, "like")
    await send(lee, "like")
    [*_, counts] = await events_until(
        lee, lambda e: e["type"] == "counts" and e["likes"] >= 4, timeout_s=5
    )
    assert counts["viewers"] == 2
    assert counts["likes"] == 4


async def test_a_ban_made_elsewhere_keeps_out_a_viewer_of_a_room_this_process_had_left(
    room_client: Client, connect: Connect, redis: Redis
) -> None:
    """Another process banned frank. This one has no viewer of the room, so it heard no
    event of it, and it read the room's bans a moment before: frank's socket still closes
    with 4003 as it opens."""
    ann = await connect("ann")  # this process reads the room's bans (nobody banned)
    await ann.close()
    hub = room_client.app[ROOM_HUB]

    async def left() -> bool:
        return hub.viewers("show-1") == 0

    await wait_for(left, 5, "the room to have no viewer here")
    await redis.sadd(RoomKeys("show-1").banned, "frank")  # as the other process does
    frank = await room_client.ws_connect("/rooms/show-1/live", params={"token": token("frank")})
    assert await close_code(frank) == 4003
    await frank.close()
