"""A viewer's connection (WebSocket or Server-Sent Events) and its bounded outgoing queue."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

import orjson
from aiohttp import WSCloseCode, web

from ..tokens import Viewer
from .events import Covers, frame, offset_key
from .settings import RoomSettings

#: Close code for a viewer who fell too far behind; reconnecting with the last offset
#: resumes where it stopped.
CLOSE_TOO_SLOW = 4001
#: Close code for a viewer banned by the host.
CLOSE_BANNED = 4003
#: What a banned viewer's socket is told as it closes.
BANNED_REASON = "removed from this room by the host"
#: How long a closing socket may take to accept its close frame before it is cut off.
CLOSE_TIMEOUT_S = 5.0


class Outgoing:
    """Frames waiting to be written to one viewer.

    A frame holding only state events (stock, counts, poll results, keepalive) replaces the
    frame before it still waiting when that one said only states the new one says too, so a
    slow reader gets the latest numbers instead of a backlog, and never loses one offer's
    stock to another offer's.

    Kept small: a process holds tens of thousands, nearly all of them empty (frames are
    written at once while the viewer keeps up). A plain list and a future that exists only
    while the writer waits take about 300 bytes, where a deque and an asyncio.Event took 1.7 KiB.
    """

    __slots__ = ("_bytes", "_frames", "_max_bytes", "_max_frames", "_waiter")

    def __init__(self, max_frames: int, max_bytes: int) -> None:
        # Bounded by max_frames (it is dropped past that), so popping its head is cheap.
        self._frames: list[tuple[bytes, Covers]] = []
        self._bytes = 0
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._waiter: asyncio.Future[None] | None = None

    def put(self, data: bytes, covers: Covers = None) -> bool:
        """Queue a frame (``covers``: the states it says, if it says nothing else); False
        when the viewer is too far behind to keep."""
        frames = self._frames
        if covers is not None:
            # The run of state-only frames at the tail: any of them saying nothing this one
            # does not goes (only states lie between them, so no event changes place).
            i = len(frames)
            while i > 0 and frames[i - 1][1] is not None:
                i -= 1
            for j in range(len(frames) - 1, i - 1, -1):
                before = frames[j][1]
                if before is not None and before <= covers:
                    self._bytes -= len(frames.pop(j)[0])
        frames.append((data, covers))
        self._bytes += len(data)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return len(frames) <= self._max_frames and self._bytes <= self._max_bytes

    def empty(self) -> bool:
        """Whether nothing waits to be written."""
        return not self._frames

    async def get(self) -> bytes:
        """The next frame to write, once there is one."""
        while not self._frames:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        data, _ = self._frames.pop(0)
        self._bytes -= len(data)
        return data


class Connection:
    """What the hub needs of a viewer's connection, whatever carries it."""

    kind: Literal["ws", "sse"]

    # No __dict__: tens of thousands of these live in one process.
    __slots__ = (
        "_catching_up",
        "_held",
        "_max_held",
        "caught_up_to",
        "closed",
        "counted",
        "out",
        "room_id",
        "viewer",
    )

    def __init__(self, room_id: str, viewer: Viewer | None, settings: RoomSettings) -> None:
        self.room_id = room_id
        self.viewer = viewer
        self.out = Outgoing(settings.max_queued_frames, settings.max_queued_bytes)
        self.closed = False
        #: False for the host console watching its own room: not an audience member.
        self.counted = True
        # Until history or a snapshot is sent, live events are held back, then sent after it.
        self._catching_up = True
        #: The offset its history or snapshot reached: room events up to it were sent.
        self.caught_up_to: tuple[int, int] | None = None
        self._held: list[dict[str, Any]] = []
        self._max_held = settings.max_queued_frames * 50

    @property
    def user_id(self) -> str | None:
        """The signed-in viewer's id; None for an anonymous reader."""
        return self.viewer.user_id if self.viewer else None

    def encode(self, views: list[dict[str, Any]]) -> bytes:
        """These events as bytes ready for this kind of connection."""
        raise NotImplementedError

    def deliver(self, data: bytes, views: list[dict[str, Any]], covers: Covers) -> bool:
        """Take a frame of the room (encoded once for all its viewers of this kind)."""
        if self.closed:
            return True
        if self._catching_up:
            self._held.extend(views)
            return len(self._held) <= self._max_held
        if self.out.empty() and self.write_now(data):
            return True
        return self.out.put(data, covers)

    def write_now(self, data: bytes) -> bool:
        """Write at once if nothing waits and the network keeps up; False to queue it."""
        return False

    def send(self, views: list[dict[str, Any]]) -> bool:
        """Send events for this connection only (hello, history, answers, errors), after
        whatever is already queued."""
        data = self.encode(views)
        if not self._catching_up and self.out.empty() and self.write_now(data):
            return True
        return self.out.put(data)

    def caught_up(self, last_offset: str) -> None:
        """History up to ``last_offset`` is queued; send the live events held meanwhile."""
        last = self.caught_up_to = offset_key(last_offset)
        held = [v for v in self._held if "offset" not in v or offset_key(v["offset"]) > last]
        self._held = []
        self._catching_up = False
        if held:
            self.out.put(self.encode(held))

    async def write(self, data: bytes) -> None:
        """Write one frame to the viewer."""
        raise NotImplementedError

    async def close(self, code: int, reason: str) -> None:
        """Close the connection, saying why."""
        raise NotImplementedError

    async def run_writer(self) -> None:
        """Write queued frames until the connection goes away."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not self.closed:
                await self.write(await self.out.get())


def ws_text_frame(payload: bytes) -> bytes:
    """A complete server-to-client text frame (unmasked, uncompressed, final)."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 65536:
        return bytes((0x81, 126)) + length.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + length.to_bytes(8, "big") + payload


class WsConnection(Connection):
    """A viewer's WebSocket.

    Room frames are uncompressed, so their wire bytes are the same for every viewer: the
    hub builds them once and they are written to the socket as they are, without a task
    switch, whenever this viewer has nothing queued and its socket keeps up. Each write is
    a whole frame, so aiohttp's own pings and close frames never interleave with them.
    """

    kind: Literal["ws", "sse"] = "ws"
    #: Past this many unsent bytes in the socket's buffer, frames wait in the queue.
    HIGH_WATER = 64 * 1024

    __slots__ = ("_holding", "_transport", "ws")

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        room_id: str,
        viewer: Viewer | None,
        settings: RoomSettings,
    ) -> None:
        super().__init__(room_id, viewer, settings)
        self.ws = ws
        self._transport = transport
        # True while the writer holds a frame it is waiting to send: newer frames must
        # queue behind it, never overtake it.
        self._holding = False

    def encode(self, views: list[dict[str, Any]]) -> bytes:
        """These events as bytes ready for this kind of connection."""
        return ws_text_frame(frame(views))

    def _writable(self) -> bool:
        transport = self._transport
        return (
            transport is not None
            and not transport.is_closing()
            and not self.ws.closed
            and not self.closed
        )

    def deliver(self, data: bytes, views: list[dict[str, Any]], covers: Covers) -> bool:
        """Take a frame of the room (encoded once for all its viewers of this kind)."""
        # The hub's hottest line: one call per viewer per round. Nearly always the viewer
        # is caught up, nothing waits and its socket keeps up, so the frame is written at
        # once; these checks are write_now's, inlined (a method call or property each cost
        # about a tenth of the send itself).
        transport = self._transport
        if (
            not self._catching_up
            and not self.closed
            and not self._holding
            and self.out.empty()
            and transport is not None
            and not transport.is_closing()
            and not self.ws.closed
            and transport.get_write_buffer_size() <= self.HIGH_WATER
        ):
            transport.write(data)
            return True
        return super().deliver(data, views, covers)

    def write_now(self, data: bytes) -> bool:
        """Write at once if nothing waits and the network keeps up; False to queue it."""
        transport = self._transport
        if self._holding or not self._writable() or transport is None:
            return False
        if transport.get_write_buffer_size() > self.HIGH_WATER:
            return False
        transport.write(data)
        return True

    async def write(self, data: bytes) -> None:
        """Write one frame to the viewer."""
        transport = self._transport
        self._holding = True
        try:
            while self._writable() and transport is not None:
                if transport.get_write_buffer_size() <= self.HIGH_WATER:
                    transport.write(data)
                    return
                # The viewer's network is slow: let its socket drain before adding more.
                await asyncio.sleep(0.02)
            self.closed = True
        finally:
            self._holding = False

    async def close(self, code: int, reason: str) -> None:
        """Close the connection, saying why."""
        self.closed = True
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.ws.close(code=code, message=reason.encode())
        except (TimeoutError, ConnectionError, RuntimeError):
            # A peer that cannot even take the close frame (its network stalled) is cut
            # off, so its backlog is freed.
            if self._transport is not None:
                self._transport.abort()


def sse_encode(views: list[dict[str, Any]]) -> bytes:
    """Events as Server-Sent Events, each with its offset as id."""
    parts = []
    for view in views:
        head = f"id: {view['offset']}\n" if "offset" in view else ""
        parts.append(f"{head}event: {view['type']}\ndata: ".encode())
        parts.append(orjson.dumps(view))
        parts.append(b"\n\n")
    return b"".join(parts)


class SseConnection(Connection):
    """A viewer reading the room as Server-Sent Events (the WebSocket fallback)."""

    kind: Literal["ws", "sse"] = "sse"

    __slots__ = ("done", "response")

    def __init__(
        self,
        response: web.StreamResponse,
        room_id: str,
        viewer: Viewer | None,
        settings: RoomSettings,
    ) -> None:
        super().__init__(room_id, viewer, settings)
        self.response = response
        self.done = asyncio.Event()

    def encode(self, views: list[dict[str, Any]]) -> bytes:
        """These events as bytes ready for this kind of connection."""
        return sse_encode(views)

    async def write(self, data: bytes) -> None:
        """Write one frame to the viewer."""
        try:
            await self.response.write(data)
        except (ConnectionError, RuntimeError):
            self.closed = True
            self.done.set()

    async def close(self, code: int, reason: str) -> None:
        """Close the connection, saying why."""
        # SSE has no close codes: say why as a last event, then end the stream.
        if not self.closed:
            self.out.put(sse_encode([{"type": "closing", "code": code, "reason": reason}]))
            await asyncio.sleep(0)
        self.closed = True
        self.done.set()


GOING_AWAY = WSCloseCode.GOING_AWAY
