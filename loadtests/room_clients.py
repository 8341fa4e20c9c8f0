"""Lean WebSocket clients for the room benchmark: raw sockets, no frame parsing.

A Python client that parsed every frame would need more CPU than the server it measures.
These count events with a byte search (C speed) and read each event's publish time
(``at_ms``) from the bytes, on one connection in ``sample_every``.

The same clients drive another server (Centrifugo, loadtests/bench_centrifugo.py): a
``hello`` text frame is sent after the upgrade (its connect and subscribe commands), the
viewer counts as joined once the ``ready`` bytes arrive (its subscribe reply), and ``stamp``
reads the publish time from that server's frames.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import cast

import uvloop

HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)
TICK = b'"type":"tick"'
TICK_AT = re.compile(rb'"type":"tick","offset":"[^"]*","at_ms":(\d+)')


def text_frame(payload: bytes) -> bytes:
    """One masked client text frame; the zero mask key leaves the payload as it is."""
    length = len(payload)
    if length < 126:
        head = bytes([0x81, 0x80 | length])
    else:
        head = bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
    return head + b"\x00\x00\x00\x00" + payload


def joined(head: bytes, ready: bytes) -> int:
    """Where the frames after the upgrade (and after ``ready``, if given) begin in ``head``;
    -1 while they have not all arrived. Raises ConnectionError for a refused upgrade, or
    for an error answered before ``ready``."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return -1
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head[:200].decode(errors="replace"))
    if not ready:
        return end + 4
    at = head.find(ready, end + 4)
    if at < 0:
        if b'"error":' in head[end + 4 :]:
            raise ConnectionError(head[end + 4 : end + 304].decode(errors="replace"))
        return -1
    return at + len(ready)


@dataclass
class Totals:
    """What the benchmark's viewers counted between them."""

    events: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    connected: int = 0
    closed: int = 0
    replies: int = 0


class Viewer(asyncio.Protocol):
    """Counts the room's tick events; a sampled viewer also records their delay."""

    def __init__(
        self,
        totals: Totals,
        sample: bool,
        request: bytes,
        pattern: bytes,
        hello: bytes = b"",
        ready: bytes = b"",
        stamp: re.Pattern[bytes] = TICK_AT,
    ) -> None:
        self.totals = totals
        self.hello = hello
        self.ready = ready
        self.stamp = stamp
        self.sample = sample
        self.request = request
        self.pattern = pattern
        self.upgraded = asyncio.get_running_loop().create_future()
        self._head = b""
        self._tail = b""
        self.transport: asyncio.Transport | None = None
        self.replies = 0
        self.waiter: asyncio.Future[None] | None = None
        self.want = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        """Send the WebSocket upgrade request."""
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        """Finish the upgrade, then count the pattern (and time the ticks of a sampled viewer)."""
        if not self.upgraded.done():
            greet = self.hello and b"\r\n\r\n" not in self._head
            self._head += data
            try:
                start = joined(self._head, self.ready)
            except ConnectionError as refused:
                self.upgraded.set_exception(refused)
                return
            if greet and b"\r\n\r\n" in self._head:
                self.send_text(self.hello)
            if start < 0:
                return
            self.totals.connected += 1
            self.upgraded.set_result(None)
            data = self._head[start:]
        # Keep the last bytes, so a pattern cut between two reads is still found once.
        chunk = self._tail + data
        found = chunk.count(self.pattern) - self._tail.count(self.pattern)
        self._tail = chunk[-(len(self.pattern) - 1) :]
        if self.pattern == TICK:
            self.totals.events += found
            if self.sample and found:
                now_ms = time.time() * 1000
                self.totals.latencies_ms.extend(
                    now_ms - int(m.group(1)) for m in self.stamp.finditer(chunk)
                )
        else:
            self.totals.replies += found
            self.replies += found
            if self.waiter is not None and self.replies >= self.want and not self.waiter.done():
                self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        """Count the close and fail whatever waits on this viewer."""
        self.totals.closed += 1
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed before the upgrade"))
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    def send_text(self, payload: bytes) -> None:
        """One masked text frame (see text_frame)."""
        assert self.transport is not None
        self.transport.write(text_frame(payload))


async def open_viewers(
    port: int,
    path: str,
    count: int,
    totals: Totals,
    *,
    sample_every: int = 0,
    pattern: bytes = TICK,
    batch: int = 500,
    hello: bytes = b"",
    ready: bytes = b"",
    stamp: re.Pattern[bytes] = TICK_AT,
) -> list[Viewer]:
    """``count`` upgraded connections, opened ``batch`` at a time (each joined: see Viewer)."""
    loop = asyncio.get_running_loop()
    request = HANDSHAKE.format(path=path, port=port).encode()
    viewers: list[Viewer] = []

    def factory(sample: bool) -> Callable[[], Viewer]:
        def make() -> Viewer:
            return Viewer(totals, sample, request, pattern, hello, ready, stamp)

        return make

    for start in range(0, count, batch):
        made = []
        for i in range(start, min(count, start + batch)):
            sample = bool(sample_every) and i % sample_every == 0
            made.append(loop.create_connection(factory(sample), "127.0.0.1", port))
        for _, viewer in await asyncio.gather(*made):
            viewers.append(viewer)
        await asyncio.gather(*(v.upgraded for v in viewers[start:]))
    return viewers


@dataclass(eq=False, slots=True)
class _QuietSocket:
    sock: socket.socket
    tail: bytes = b""
    open: bool = True


class QuietViewers:
    """Viewers that are counted, not timed: plain sockets read in one sweep every so often
    rather than as each frame arrives.

    Real viewers' phones read on their own CPUs. Here they share the server's two cores,
    and a Python loop woken by each of 10,000 sockets' frames would take CPU from the
    server it measures and delay the timed viewers' clocks. A socket holds far more than a
    sweep's worth of frames, so every event is still received and counted.
    """

    def __init__(self, pattern: bytes = TICK, hello: bytes = b"", ready: bytes = b"") -> None:
        self.pattern = pattern
        self.hello = hello
        self.ready = ready
        self.events = 0
        self._sockets: list[_QuietSocket] = []

    @property
    def open(self) -> int:
        """How many sockets are still open."""
        return sum(1 for s in self._sockets if s.open)

    async def connect(self, port: int, path: str, count: int, batch: int = 500) -> None:
        """Open and upgrade ``count`` sockets, ``batch`` at a time."""
        request = HANDSHAKE.format(path=path, port=port).encode()
        for start in range(0, count, batch):
            size = min(count, start + batch) - start
            await asyncio.gather(*(self._connect_one(port, request) for _ in range(size)))

    async def _connect_one(self, port: int, request: bytes) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, request)
        head = b""
        greeted = not self.hello
        while (start := joined(head, self.ready)) < 0:
            data = await loop.sock_recv(sock, 65536)
            if not data:
                raise ConnectionError("closed before the upgrade")
            head += data
            if not greeted and b"\r\n\r\n" in head:
                greeted = True
                await loop.sock_sendall(sock, text_frame(self.hello))
        # Frames that came with the upgrade (or the ready reply) are counted too.
        self.events += head[start:].count(self.pattern)
        self._sockets.append(_QuietSocket(sock))

    def sweep(self) -> None:
        """Read whatever every socket holds and count the pattern in it."""
        pattern, keep = self.pattern, len(self.pattern) - 1
        for viewer in self._sockets:
            while viewer.open:
                try:
                    data = viewer.sock.recv(262144)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    viewer.open = False
                    break
                chunk = viewer.tail + data
                self.events += chunk.count(pattern) - viewer.tail.count(pattern)
                viewer.tail = chunk[-keep:]

    def close(self) -> None:
        """Close every socket."""
        for viewer in self._sockets:
            viewer.sock.close()


def hold_quiet_viewers(
    port: int,
    path: str,
    count: int,
    group: int,
    period_s: float,
    pipe: Connection,
    hello: bytes = b"",
    ready: bytes = b"",
) -> None:
    """A process holding ``count`` quiet viewers, driven over ``pipe``.

    They join ``group`` at a time; after each group it sends ``{"joined": n}`` and waits for
    a word back (the timed viewers join in between, so they are spread through the room's
    join order, as real viewers would be). Then it sends ``{"open": n}``, sweeps every
    ``period_s`` until it receives a word, and sends its totals: after ``"count"`` it goes on
    sweeping, after any other word it closes its viewers and returns.
    """
    viewers = QuietViewers(hello=hello, ready=ready)

    async def join() -> None:
        for start in range(0, count, group):
            await viewers.connect(port, path, min(group, count - start))
            pipe.send({"joined": viewers.open})
            pipe.recv()

    uvloop.run(join())
    pipe.send({"open": viewers.open})
    while True:
        if not pipe.poll(period_s):
            viewers.sweep()
            continue
        word = pipe.recv()
        viewers.sweep()
        pipe.send({"open": viewers.open, "events": viewers.events})
        if word != "count":
            break
    viewers.close()
