"""Who is banned from each room, as this process knows it, for the paths that do not go
through the room's socket (a banned viewer's socket is closed; their HTTP calls are not).

A ban is never lifted, so what is known stays true: a room's set is read from Redis on first
use and again at most every ``refresh_s``, and a ban this process reads from the room's
channel (``user_banned``) counts at once. A process with no viewer of the room learns of a
ban within ``refresh_s``; looking the ban up in Redis on every claim would cost each claim a
round trip of its own.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from stockkeeper.errors import redis_call

from .keys import RoomKeys


class BanList:
    """The banned viewers of the rooms this process was asked about."""

    def __init__(self, redis: Redis, refresh_s: float = 2.0) -> None:
        self.redis = redis
        self.refresh_s = refresh_s
        self._rooms: dict[str, tuple[float, set[str]]] = {}
        #: The read of a room's set under way: every press of a rush that finds the set
        #: stale waits for the same one.
        self._reading: dict[str, asyncio.Task[set[str]]] = {}

    def known(self, room_id: str, user_id: str) -> bool | None:
        """Whether the host banned ``user_id`` from the room, as this process knows it now;
        None when the room's list must be read first (never read, or stale). No await: a
        press asks this first."""
        known = self._rooms.get(room_id)
        if known is None:
            return None
        if user_id in known[1]:
            return True
        return None if time.monotonic() - known[0] > self.refresh_s else False

    async def is_banned(self, room_id: str, user_id: str, *, fresh: bool = False) -> bool:
        """Whether the host banned ``user_id`` from the room; ``fresh``: as Redis says now,
        not as this process last read it (for a process that hears no ban of the room, as
        it has no viewer there)."""
        banned = None if fresh else self.known(room_id, user_id)
        if banned is None:
            reading = self._reading.get(room_id)
            if reading is None:
                reading = asyncio.get_running_loop().create_task(self._read(room_id))
                self._reading[room_id] = reading
                reading.add_done_callback(lambda _: self._reading.pop(room_id, None))
            # Shielded: one caller given up on must not cancel the read the others wait for.
            return user_id in await asyncio.shield(reading)
        return banned

    async def _read(self, room_id: str) -> set[str]:
        # Redis out of reach is the purchase path's 503 (retriable), not a bug.
        members: set[bytes | str] = await redis_call(self.redis.smembers(RoomKeys(room_id).banned))
        # The hub's client returns bytes (room events are msgpack).
        banned = {m.decode() if isinstance(m, bytes) else m for m in members}
        known = self._rooms.get(room_id)
        if known is not None:
            banned |= known[1]  # a ban read from the channel meanwhile
        self._rooms[room_id] = (time.monotonic(), banned)
        return banned

    def banned(self, room_id: str, user_id: str) -> None:
        """A ban read from the room's channel: it counts from now on."""
        known = self._rooms.get(room_id)
        if known is not None:
            known[1].add(user_id)
