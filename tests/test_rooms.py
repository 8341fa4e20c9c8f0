"""Live rooms over real Redis: what every viewer sees, in what order, and what is refused."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.api import room as room_api
from server.app import create_app
from server.appkeys import KEEPER, ROOM_HUB, ROOM_PUBLISHER
from server.room.settings import RoomSettings
from server.settings import Settings
from server.tokens import mint_viewer_token

from .helpers import HOST, VIEWER_SECRET
from .room_helpers import StalledViewer, ask, close_code, events_until, of_type, send

Client = TestClient[web.Request, web.Application]
Connect = Callable[..., Awaitable[aiohttp.ClientWebSocketResponse]]


def token(user_id: str) -> str:
    return mint_viewer_token(VIEWER_SECRET, user_id, f"Viewer {user_id}")


@pytest.fixture
def room_settings() -> RoomSettings:
    return RoomSettings(batch_window_s=0.02, chat_min_interval_ms=0, stock_interval_s=0.05)


@pytest.fixture
async def room_client(
    aiohttp_client: Any, app_settings: Settings, room_settings: RoomSettings, redis: Any
) -> Client:
    settings = dataclasses.replace(app_settings, room=room_settings)
    client: Client = await aiohttp_client(create_app(settings))
    return client


@pytest.fixture
async def connect(room_client: Client) -> AsyncIterator[Connect]:
    """Open a viewer socket on room ``show-1`` (signed in when a user id is given)."""
    sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def open_socket(
        user: str | None = None, room: str = "show-1", since: str | None = None
    ) -> aiohttp.ClientWebSocketResponse:
        params = {}
        if user:
            params["token"] = token(user)
        if since:
            params["since"] = since
        ws = await room_client.ws_connect(f"/rooms/{room}/live", params=params)
        sockets.append(ws)
        await events_until(ws, of_type("snapshot") if not since else lambda e: True)
        return ws

    yield open_socket
    for ws in sockets:
        await ws.close()


async def host(client: Client, path: str, body: Any = None, method: str = "POST") -> Any:
    resp = await client.request(method, path, json=body, headers=HOST)
    assert resp.status < 300, await resp.text()
    return await resp.json()


async def create_offer(client: Client, stock: int, **fields: Any) -> Any:
    """An offer in room show-1: a mug at 5 EUR unless ``fields`` say otherwise."""
    body = {
        "room_id": "show-1",
        "sku": "MUG",
        "title": "Mug",
        "unit_price": 500,
        "currency": "EUR",
        "stock": stock,
        **fields,
    }
    return await host(client, "/api/offers", body)


async def open_now(client: Client, offer_id: str) -> None:
    """Open the offer at once, for a minute."""
    await host(
        client, f"/api/offers/{offer_id}/open", {"countdown_seconds": 0, "window_seconds": 60}
    )


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
    again = await connect("frank")
    assert (await ask(again, "chat", text="I am back"))["code"] == "banned"


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


# ------------------------------------------------------------------ offers and buying


@pytest.mark.parametrize("buckets", [1, 2], ids=["one-bucket", "hot-offer-2-buckets"])
async def test_the_offer_countdown_stock_and_purchase_flow_over_the_socket(
    room_client: Client, connect: Connect, buckets: int
) -> None:
    """With 2 buckets, ivy's home bucket (1) holds one unit: her press for two fetches the
    other from bucket 0, and the room still sees the offer's stock as one."""
    buyer, watcher = await connect("ivy"), await connect("watcher")
    offer = await create_offer(
        room_client,
        stock=2,
        sku="LAMP",
        title="Lamp",
        unit_price=2500,
        per_user_limit=2,
        buckets=buckets,
    )
    opened = await host(
        room_client,
        f"/api/offers/{offer['id']}/open",
        {"countdown_seconds": 1, "window_seconds": 60},
    )
    [*_, announced] = await events_until(watcher, of_type("offer_announced"))
    assert announced["countdown_ends_at_ms"] == opened["opens_at_ms"]
    early = await ask(
        buyer, "reserve", offer_id=offer["id"], quantity=1, idempotency_key="press-00000001"
    )
    assert (early["status"], early["error"]["code"]) == (409, "not_open")
    await events_until(watcher, of_type("offer_open", offer_id=offer["id"]))

    reserved = await ask(
        buyer, "reserve", offer_id=offer["id"], quantity=2, idempotency_key="press-00000002"
    )
    assert (reserved["type"], reserved["status"], reserved["outcome"]) == (
        "reserve_result",
        201,
        "reserved",
    )
    again = await ask(
        buyer, "reserve", offer_id=offer["id"], quantity=2, idempotency_key="press-00000002"
    )
    assert again["replayed"] is True
    assert again["hold"]["hold_id"] == reserved["hold"]["hold_id"]
    assert reserved["hold"]["hold_id"].startswith(offer["id"] + (".1-" if buckets > 1 else "-"))
    await events_until(watcher, of_type("stock", offer_id=offer["id"], available=0, held=2))
    await events_until(watcher, of_type("sold_out", offer_id=offer["id"]))

    paid = await ask(buyer, "confirm", hold_id=reserved["hold"]["hold_id"], payment_ref="psp-ws-1")
    assert (paid["status"], paid["outcome"], paid["amount"]) == (200, "confirmed", 5000)
    [*_, news] = await events_until(buyer, of_type("purchase", status="confirmed"))
    assert news["order_id"] == paid["order_id"]
    # The purchase news is the buyer's alone.
    await host(room_client, "/api/rooms/show-1/announcements", {"text": "marker"})
    seen = await events_until(watcher, of_type("announcement", text="marker"))
    assert not [e for e in seen if e["type"] == "purchase"]


async def test_messages_sent_together_are_answered_in_order_each_as_its_sender(
    room_client: Client, connect: Connect
) -> None:
    """A phone in a rush sends presses without waiting for answers. Presses run alongside
    each other, but a message of another kind takes effect exactly where it was sent: the
    first press is ann's, the auth switches to bob, and the presses after it are bob's.
    Every answer comes back in the order of the messages, also past the number of messages
    a socket may have in flight."""
    offer = await create_offer(room_client, stock=100, per_user_limit=50)
    await open_now(room_client, offer["id"])
    ws = await connect("ann")

    def press(n: int, key: str) -> dict[str, Any]:
        return {
            "type": "reserve",
            "request_id": n,
            "offer_id": offer["id"],
            "quantity": 1,
            "idempotency_key": key,
        }

    messages: list[dict[str, Any] | str] = [
        press(0, "press-ann-0001"),
        {"type": "auth", "request_id": 1, "token": token("bob")},
        *(press(n, f"press-bob-{n:04d}") for n in range(2, 32)),
        {"type": "ping", "request_id": 32},
        "not json",
        press(34, "press-bob-0002"),
    ]
    for message in messages:
        await ws.send_str(message if isinstance(message, str) else orjson.dumps(message).decode())
    answers = await events_until(ws, lambda e: e.get("request_id") == 34)
    answers = [e for e in answers if "offset" not in e]

    assert [a.get("request_id") for a in answers] == [*range(33), None, 34]
    assert [a["type"] for a in answers] == [
        "reserve_result",
        "auth_ok",
        *["reserve_result"] * 30,
        "pong",
        "error",
        "reserve_result",
    ]
    assert answers[33]["code"] == "invalid_json"
    assert all(a["status"] == 201 for a in answers[2:32])
    assert (answers[34]["replayed"], answers[34]["hold"]) == (True, answers[2]["hold"])
    keeper = room_client.app[KEEPER]
    assert (await keeper.get_hold(answers[0]["hold"]["hold_id"], "ann")).quantity == 1
    for answer in answers[2:32]:
        assert (await keeper.get_hold(answer["hold"]["hold_id"], "bob")).quantity == 1
    offer_now = await keeper.get_offer(offer["id"])
    assert (offer_now.held, offer_now.available) == (31, 69)


async def test_an_expired_hold_is_told_to_its_buyer(
    aiohttp_client: Any, app_settings: Settings, room_settings: RoomSettings, redis: Any
) -> None:
    settings = dataclasses.replace(app_settings, room=room_settings, run_sweeper=True)
    client: Client = await aiohttp_client(create_app(settings))
    offer = await create_offer(client, stock=1, hold_seconds=1)
    await open_now(client, offer["id"])
    ws = await client.ws_connect("/rooms/show-1/live", params={"token": token("jack")})
    held = await ask(
        ws, "reserve", offer_id=offer["id"], quantity=1, idempotency_key="press-00000003"
    )
    seen = await events_until(ws, of_type("purchase", status="expired"), timeout_s=10)
    assert seen[-1]["hold_id"] == held["hold"]["hold_id"]
    back_in_stock = of_type("stock", offer_id=offer["id"], available=1)
    if not any(back_in_stock(e) for e in seen):
        await events_until(ws, back_in_stock)
    await ws.close()


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


async def read_sse(
    resp: aiohttp.ClientResponse, until: Callable[[dict[str, str]], bool], timeout_s: float = 10.0
) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(resp.content.readline(), deadline - time.monotonic())
        text = line.decode().rstrip("\n")
        if text == "" and current:
            events.append(current)
            if until(current):
                return events
            current = {}
        elif ": " in text:
            key, _, value = text.partition(": ")
            current[key] = value
    raise AssertionError(f"Timed out; got {events}")


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
