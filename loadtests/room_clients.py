"""Lean WebSocket clients for the room benchmark: raw sockets, no frame parsing.

A Python client that parsed every frame would need more CPU than the server it measures.
These count events with a byte search (C speed) and read each event's publish time
(``at_ms``) from the bytes, on one connection in ``sample_every``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)
TICK = b'"type":"tick"'
TICK_AT = re.compile(rb'"type":"tick","offset":"[^"]*","at_ms":(\d+)')


@dataclass
class Totals:
    events: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    connected: int = 0
    closed: int = 0
    replies: int = 0


class Viewer(asyncio.Protocol):
    """Counts the room's tick events; a sampled viewer also records their delay."""

    def __init__(self, totals: Totals, sample: bool, request: bytes, pattern: bytes) -> None:
        self.totals = totals
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
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self._head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(self._head[:200].decode()))
                return
            self.totals.connected += 1
            self.upgraded.set_result(None)
            data = self._head[end + 4 :]
        # Keep the last bytes, so a pattern cut between two reads is still found once.
        chunk = self._tail + data
        found = chunk.count(self.pattern) - self._tail.count(self.pattern)
        self._tail = chunk[-(len(self.pattern) - 1) :]
        if self.pattern == TICK:
            self.totals.events += found
            if self.sample and found:
                now_ms = time.time() * 1000
                self.totals.latencies_ms.extend(
                    now_ms - int(m.group(1)) for m in TICK_AT.finditer(chunk)
                )
        else:
            self.totals.replies += found
            self.replies += found
            if self.waiter is not None and self.replies >= self.want and not self.waiter.done():
                self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.totals.closed += 1
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed before the upgrade"))
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    def send_text(self, payload: bytes) -> None:
        """One masked text frame; the zero mask key leaves the payload as it is."""
        length = len(payload)
        if length < 126:
            head = bytes([0x81, 0x80 | length])
        else:
            head = bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
        assert self.transport is not None
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)


async def open_viewers(
    port: int,
    path: str,
    count: int,
    totals: Totals,
    *,
    sample_every: int = 0,
    pattern: bytes = TICK,
    batch: int = 500,
) -> list[Viewer]:
    """``count`` upgraded connections, opened ``batch`` at a time."""
    loop = asyncio.get_running_loop()
    request = HANDSHAKE.format(path=path, port=port).encode()
    viewers: list[Viewer] = []

    def factory(sample: bool) -> Callable[[], Viewer]:
        def make() -> Viewer:
            return Viewer(totals, sample, request, pattern)

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
