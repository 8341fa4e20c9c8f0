"""Room events: msgpack between processes, JSON text frames to viewers.

A viewer frame is one JSON object ``{"events": [...]}``. Each event carries ``type``,
``offset`` (resume from it after a reconnect; absent on events about this connection only),
``at_ms`` (server time) and its own fields. See docs/rooms.md for every type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import orjson

#: Events that describe a whole state, with the field naming whose state (None: the room's):
#: a newer one of the same state replaces an older one still queued, and a frame carries
#: only the latest of each.
STATE_TYPES: dict[str, str | None] = {
    "stock": "offer_id",
    "counts": None,
    "poll_results": "poll_id",
    "goal_progress": None,
}
#: Which state an event describes: its type and whose.
StateKey = tuple[str, Any]
#: A frame that says only states, and which: a later frame of at least those states makes it
#: useless. None for a frame with anything else in it.
Covers = frozenset[StateKey] | None
KEEPALIVE_COVERS: frozenset[StateKey] = frozenset({("keepalive", None)})


def state_key(event_type: str, data: dict[str, Any]) -> StateKey:
    """The state a state event describes."""
    field = STATE_TYPES[event_type]
    return event_type, data.get(field) if field else None


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One event of a room's history, as read from Redis."""

    offset: str
    at_ms: int
    type: str
    data: dict[str, Any]
    #: Only this user's connections receive it (purchase results); "" for everyone.
    to_user: str = ""

    def view(self) -> dict[str, Any]:
        """The event as viewers receive it."""
        return {"type": self.type, "offset": self.offset, "at_ms": self.at_ms, **self.data}


def pack_data(data: dict[str, Any]) -> bytes:
    """An event's data as the room scripts store it (msgpack)."""
    return msgpack.packb(data, use_bin_type=True)


def from_published(message: bytes) -> RoomEvent:
    """An event as room_publish.lua / room_chat.lua publish it."""
    offset, at_ms, type_, to_user, data = msgpack.unpackb(message, raw=True)
    return RoomEvent(
        offset.decode(),
        int(at_ms),
        type_.decode(),
        msgpack.unpackb(data, raw=False),
        to_user.decode(),
    )


def from_history(entry_id: bytes | str, fields: dict[bytes, bytes]) -> RoomEvent:
    """An event as it is kept in the room's stream."""
    offset = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return RoomEvent(
        offset,
        int(fields[b"at"]),
        fields[b"t"].decode(),
        msgpack.unpackb(fields[b"d"], raw=False),
        fields[b"u"].decode(),
    )


def frame(views: list[dict[str, Any]]) -> bytes:
    """One text frame holding these events."""
    return orjson.dumps({"events": views})


def offset_key(offset: str) -> tuple[int, int]:
    """Offsets compare as (milliseconds, sequence)."""
    ms, _, seq = offset.partition("-")
    return int(ms), int(seq or 0)
