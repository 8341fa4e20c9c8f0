"""Helpers for the live-room tests: read events from a socket until something arrives, sign
viewers in, and act as the host."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.app import background
from server.room.events import STATE_TYPES, offset_key
from server.room.publisher import RoomPublisher
from server.tokens import mint_viewer_token

from .helpers import HOST, VIEWER_SECRET

Event = dict[str, Any]
Client = TestClient[web.Request, web.Application]
Connect = Callable[..., Awaitable[aiohttp.ClientWebSocketResponse]]

# Events of a frame that came after the one a caller waited for, kept for its next call.
_leftover: dict[int, list[Event]] = {}


async def events_until(
    ws: aiohttp.ClientWebSocketResponse,
    done: Callable[[Event], bool],
    timeout_s: float = 10.0,
) -> list[Event]:
    """Every event received up to and including the first one ``done`` accepts."""
    seen: list[Event] = []
    queued = _leftover.pop(id(ws), [])
    while queued:
        event = queued.pop(0)
        seen.append(event)
        if done(event):
            _leftover[id(ws)] = queued
            return seen
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"Timed out; received {[e['type'] for e in seen]}")
        message = await asyncio.wait_for(ws.receive(), remaining)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"Socket ended: {message.type} {message.data} {message.extra}")
        events = orjson.loads(message.data)["events"]
        for i, event in enumerate(events):
            seen.append(event)
            if done(event):
                _leftover[id(ws)] = events[i + 1 :]
                return seen


def of_type(type_: str, **fields: Any) -> Callable[[Event], bool]:
    return lambda e: e["type"] == type_ and all(e.get(k) == v for k, v in fields.items())


async def send(ws: aiohttp.ClientWebSocketResponse, type_: str, **fields: Any) -> None:
    await ws.send_str(orjson.dumps({"type": type_, **fields}).decode())


async def ask(ws: aiohttp.ClientWebSocketResponse, type_: str, **fields: Any) -> Event:
    """Send a message and return the answer carrying its request id."""
    request_id = f"r{time.monotonic_ns()}"
    await send(ws, type_, request_id=request_id, **fields)
    events = await events_until(ws, lambda e: e.get("request_id") == request_id)
    return events[-1]


async def ask_until(
    ws: aiohttp.ClientWebSocketResponse,
    done: Callable[[Event], bool],
    within_s: float,
    type_: str,
    **fields: Any,
) -> Event:
    """Ask again until ``done`` accepts the answer or ``within_s`` has passed; the last
    answer. For news that travels between processes (a sold-out flag lowered over pub/sub)
    and so lands a few milliseconds after the action that caused it."""
    deadline = time.monotonic() + within_s
    while True:
        answer = await ask(ws, type_, **fields)
        if done(answer) or time.monotonic() >= deadline:
            return answer
        await asyncio.sleep(0.02)


async def close_code(ws: aiohttp.ClientWebSocketResponse, timeout_s: float = 15.0) -> int | None:
    """Read (and drop) frames until the server closes the socket; its close code."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = await asyncio.wait_for(ws.receive(), deadline - time.monotonic())
        if message.type == aiohttp.WSMsgType.CLOSE:
            # The server's code; ws.close_code is only settled once the client has replied.
            return int(message.data)
        if message.type == aiohttp.WSMsgType.CLOSED:
            return ws.close_code
    raise AssertionError("The server never closed the socket")


class StalledViewer:
    """A viewer on a raw socket with a tiny receive window that stops reading after the
    handshake: the kernel cannot hide the backlog from the server, as it would for a
    client library that keeps reading into memory."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, path: str) -> StalledViewer:
        import socket

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def close_code(self, timeout_s: float = 20.0) -> int | None:
        """Read everything the server sent (it starts reading again) up to its close frame."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                head = await asyncio.wait_for(
                    self.reader.readexactly(2), deadline - time.monotonic()
                )
            except asyncio.IncompleteReadError:
                return None
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await self.reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(length)
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big")
        raise AssertionError("No close frame")

    def close(self) -> None:
        self.writer.close()


def token(user_id: str) -> str:
    """A viewer token for ``user_id``, named "Viewer <user_id>"."""
    return mint_viewer_token(VIEWER_SECRET, user_id, f"Viewer {user_id}")


async def host(client: Client, path: str, body: Any = None, method: str = "POST") -> Any:
    """A host's request that must succeed; its JSON answer."""
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


# ------------------------------------------------------------------ resuming a busy room


@contextlib.asynccontextmanager
async def busy(
    publisher: RoomPublisher, room_id: str, per_second: float, news_for: tuple[str, ...] = ()
) -> AsyncIterator[None]:
    """Keep a room busy for the block: about ``per_second`` events a second, mostly
    announcements, every fifth one purchase news for one of ``news_for`` in turn."""

    async def publish() -> None:
        for i in itertools.count():
            if news_for and i % 5 == 4:
                news = {"status": "confirmed", "hold_id": f"h-{i}"}
                user = news_for[i // 5 % len(news_for)]
                await publisher.publish(room_id, "purchase", news, user)
            else:
                await publisher.publish(room_id, "announcement", {"text": f"busy {i}"})
            await asyncio.sleep(1 / per_second)

    async with background(publish(), "busy room"):
        yield


@contextlib.asynccontextmanager
async def within(seconds: float, what: str) -> AsyncIterator[None]:
    """Fail saying ``what`` did not finish when the block takes longer than ``seconds``: a
    step that hangs then names itself, where the test's own timeout says nothing."""
    bound = asyncio.timeout(seconds)
    try:
        async with bound:
            yield
    except TimeoutError:
        if not bound.expired():
            raise  # a timeout of the step's own, which says what it was
        raise AssertionError(f"{what}: not done in {seconds:.0f} s") from None


def is_room_event(event: Event) -> bool:
    """An event of the room's history (a snapshot also has an offset, but is not one)."""
    return "offset" in event and event["type"] not in ("snapshot", "chat_ack")


async def read_room_events(
    ws: aiohttp.ClientWebSocketResponse, wanted: int, timeout_s: float = 10.0
) -> list[Event]:
    """Whole frames from a socket until they held ``wanted`` room events; every event read."""
    seen: list[Event] = []
    async with asyncio.timeout(timeout_s):
        while sum(map(is_room_event, seen)) < wanted:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"Socket ended: {message.type} {message.data}")
            seen += orjson.loads(message.data)["events"]
    return seen


async def read_sse(
    resp: aiohttp.ClientResponse, until: Callable[[dict[str, str]], bool], timeout_s: float = 10.0
) -> list[dict[str, str]]:
    """Server-Sent Events, each as its fields, up to and including the first ``until`` accepts."""
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


async def read_sse_room_events(resp: aiohttp.ClientResponse, wanted: int) -> list[Event]:
    """The events of a Server-Sent Events stream until ``wanted`` room events came; each
    room event's ``id`` must be its offset."""
    count = 0

    def enough(fields: dict[str, str]) -> bool:
        nonlocal count
        count += "data" in fields and is_room_event(orjson.loads(fields["data"]))
        return count >= wanted

    events = []
    for fields in await read_sse(resp, enough):
        if "data" in fields:
            event = orjson.loads(fields["data"])
            assert fields.get("id") == event.get("offset"), fields
            events.append(event)
    return events


async def assert_each_event_once_in_order(
    publisher: RoomPublisher,
    room_id: str,
    since: str,
    received: list[Event],
    user_id: str = "",
) -> None:
    """``received``, what a viewer (signed in as ``user_id``, or anonymous) got after offset
    ``since`` over any number of connections, holds each room event at most once, in
    offset order, and every one of the room's history meant for it up to the last
    received. Only state events (stock, counts) may be missing: a frame keeps the latest
    of each."""
    room_events = [e for e in received if is_room_event(e)]
    offsets = [e["offset"] for e in room_events]
    twice = sorted({o for o in offsets if offsets.count(o) > 1})
    assert not twice, f"received twice: {twice}"
    keys = [offset_key(o) for o in offsets]
    assert keys == sorted(keys), f"out of order: {offsets}"
    assert keys, "received no room event"
    assert keys[0] > offset_key(since), "received an event from before the resume"
    history = (await publisher.history_after(room_id, since)).events
    assert history is not None, "the room no longer keeps the history to compare with"
    expected = [
        e.offset
        for e in history
        if offset_key(e.offset) <= keys[-1]
        and e.type not in STATE_TYPES
        and e.to_user in ("", user_id)
    ]
    got = [e["offset"] for e in room_events if e["type"] not in STATE_TYPES]
    assert got == expected, f"missing: {sorted(set(expected) - set(got))}"
