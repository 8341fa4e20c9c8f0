"""Who is told when a viewer enters or leaves a room (watch time, server/audience/).

The hub calls its :class:`Presence` as connections join and leave; the room package knows
nothing of what is done with it. Failures are logged, never passed to the viewer: watching
goes on when the figures cannot be kept.
"""

from __future__ import annotations

import logging
from typing import Protocol

from redis.exceptions import RedisError

from .connection import Connection

log = logging.getLogger(__name__)


class Presence(Protocol):
    """Told of every counted viewer connection that opens and closes, on any process."""

    async def entered(self, room_id: str, user_id: str | None) -> None:
        """A connection opened (``user_id`` None: an anonymous reader)."""

    async def left(self, room_id: str, user_id: str | None) -> None:
        """A connection closed."""


class NoPresence:
    """The default: nobody is told."""

    async def entered(self, room_id: str, user_id: str | None) -> None:
        """Ignore it."""

    async def left(self, room_id: str, user_id: str | None) -> None:
        """Ignore it."""


async def tell_entered(presence: Presence, conn: Connection) -> None:
    """Tell ``presence`` that ``conn`` entered, if it counts (the host console does not)."""
    if conn.counted:
        try:
            await presence.entered(conn.room_id, conn.user_id)
        except (RedisError, OSError) as exc:
            log.warning("Could not note a viewer entering room %s (%s)", conn.room_id, exc)


async def tell_left(presence: Presence, conn: Connection) -> None:
    """Tell ``presence`` that ``conn`` left, if it counts."""
    if conn.counted:
        try:
            await presence.left(conn.room_id, conn.user_id)
        except (RedisError, OSError) as exc:
            log.warning("Could not note a viewer leaving room %s (%s)", conn.room_id, exc)


async def tell_signed_in(presence: Presence, conn: Connection, before: str | None) -> None:
    """``conn`` was ``before`` (None: anonymous) and is now signed in as its viewer: the
    connection leaves as the one and enters as the other."""
    if not conn.counted or before == conn.user_id:
        return
    try:
        await presence.left(conn.room_id, before)
        await presence.entered(conn.room_id, conn.user_id)
    except (RedisError, OSError) as exc:
        log.warning("Could not note a viewer signing in to room %s (%s)", conn.room_id, exc)
