"""A room's viewers on this process, written to in slices, and the frames each slice is due.

A round over a big room is one ``send()`` per viewer: at 10,000 viewers that is longer than
the batch window. Written in one go, it would stall the event loop (purchases wait) and
every event arriving meanwhile would wait for the whole round to end and then for its own.
So the viewers are cut into slices. The hub writes one slice, lets the loop run, and moves
on; each slice remembers how many of the room's events it has been sent, and gets whatever
it lacks when its turn comes. An event therefore reaches every viewer within about one
round, and the loop is never held for more than a slice.

A joining viewer is first sent its history (or a snapshot), read from the room's stream up
to some offset. The slice it joins may be due events up to that offset too: read from the
channel but not yet written, or still on their way (the stream can be ahead of the
channel). Until a write takes it past that offset, the viewer is one of the slice's
``joined`` and is written only the newer events; the others take the shared frame unchecked.
"""

from __future__ import annotations

from collections.abc import KeysView
from dataclasses import dataclass, field
from typing import Any

from .connection import Connection
from .events import STATE_TYPES, Covers, RoomEvent, offset_key, state_key


@dataclass(eq=False, slots=True)
class Slice:
    """Viewers of a room written to one after another, between two turns of the loop."""

    connections: set[Connection] = field(default_factory=set)
    #: How many of the room's events these viewers have been written.
    sent: int = 0
    #: Viewers seated since, whose history may already hold some of what the slice lacks.
    joined: set[Connection] = field(default_factory=set)

    def still_lacking(self, due: Due) -> dict[Connection, list[RoomEvent]]:
        """Viewers seated since the last write whose history or snapshot already held some
        of ``due``, with the events they still lack. Once a write takes a viewer past its
        history, it is no longer checked."""
        fewer: dict[Connection, list[RoomEvent]] = {}
        for conn in list(self.joined):
            if conn.caught_up_to is None:
                # Still catching up: the connection holds these and drops what its history
                # turns out to hold (Connection.caught_up).
                continue
            events, passed = due.after(conn.caught_up_to)
            if passed:
                self.joined.discard(conn)
            if events is not due.events:
                fewer[conn] = events
        return fewer


@dataclass(slots=True)
class Due:
    """What a slice lacks: the room's events from one number up to the latest read."""

    events: list[RoomEvent]
    #: The events for everyone, with only the latest of each state (events.STATE_TYPES).
    views: list[dict[str, Any]]
    #: The states the public frame says, when it says nothing else (connection.py).
    covers: Covers
    #: Users with events of their own in the range: their connections get their own frame.
    personal: frozenset[str]
    #: The public frame, encoded once per kind of connection.
    encoded: dict[str, bytes] = field(default_factory=dict)
    #: The events' offsets as numbers, worked out once a newly joined viewer needs them.
    keys: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def of(cls, events: list[RoomEvent]) -> Due:
        """The events a slice lacks, with their public views computed once."""
        views, covers = views_for(events, "")
        personal = frozenset(e.to_user for e in events if e.to_user)
        return cls(events, views, covers, personal)

    def after(self, offset: tuple[int, int]) -> tuple[list[RoomEvent], bool]:
        """The events newer than ``offset``; and whether they are all of them, so that
        later events are all newer too."""
        if not self.keys:
            self.keys = [offset_key(e.offset) for e in self.events]
        if not self.keys or self.keys[0] > offset:
            return self.events, bool(self.events)
        newer = [e for e, key in zip(self.events, self.keys, strict=True) if key > offset]
        return newer, bool(newer)

    def oldest_public_ms(self) -> int | None:
        """When the oldest public event was published (for the fan-out lag)."""
        return next((e.at_ms for e in self.events if not e.to_user), None)


def views_for(events: list[RoomEvent], user_id: str) -> tuple[list[dict[str, Any]], Covers]:
    """The events one viewer sees (public ones and its own, in offset order), keeping only
    the latest of each state; and, when they are all states, which states they say."""
    chosen = [e for e in events if not e.to_user or e.to_user == user_id]
    latest = {state_key(e.type, e.data): i for i, e in enumerate(chosen) if e.type in STATE_TYPES}
    kept = [
        e
        for i, e in enumerate(chosen)
        if e.type not in STATE_TYPES or latest[state_key(e.type, e.data)] == i
    ]
    only_states = all(e.type in STATE_TYPES for e in kept)
    return [e.view() for e in kept], frozenset(latest) if only_states else None


class Room:
    """One room's viewers on this process and the events not yet written to all of them."""

    def __init__(self, room_id: str, slice_size: int) -> None:
        self.room_id = room_id
        self._slice_size = slice_size
        self.slices: list[Slice] = []
        self.likes = 0
        #: When a round last wrote a frame for everyone (monotonic seconds; the keepalive
        #: loop skips a room written to lately).
        self.written_at = 0.0
        self._slice_of: dict[Connection, Slice] = {}
        #: Events read from the room's channel that some slice still lacks; the first is
        #: the room's event number ``_first``.
        self._events: list[RoomEvent] = []
        self._first = 0
        self._due: dict[tuple[int, int], Due] = {}

    @property
    def connections(self) -> KeysView[Connection]:
        """Every viewer connection of the room on this process."""
        return self._slice_of.keys()

    @property
    def read(self) -> int:
        """How many of the room's events this process has read."""
        return self._first + len(self._events)

    def audience(self) -> int:
        """Viewers here, leaving out host consoles watching their own room."""
        return sum(1 for conn in self.connections if conn.counted)

    def add(self, conn: Connection) -> None:
        """Seat a new viewer in the first slice with room, or in a new one."""
        # A new slice starts at the latest event: the viewer's history or snapshot, fetched
        # after joining, covers everything read before.
        part = next((s for s in self.slices if len(s.connections) < self._slice_size), None)
        if part is None:
            part = Slice(sent=self.read)
            self.slices.append(part)
        part.connections.add(conn)
        part.joined.add(conn)
        self._slice_of[conn] = part

    def remove(self, conn: Connection) -> None:
        """Take a viewer out; an emptied slice goes away."""
        part = self._slice_of.pop(conn, None)
        if part is not None:
            part.connections.discard(conn)
            part.joined.discard(conn)
            if not part.connections:
                self.slices.remove(part)

    def append(self, event: RoomEvent) -> None:
        """Keep an event read from the room's channel until every slice has it."""
        self._events.append(event)

    def take_due(self, part: Slice) -> Due:
        """What ``part`` lacks, now counted as sent to it."""
        start, end = part.sent, self.read
        part.sent = end
        due = self._due.get((start, end))
        if due is None:
            due = self._due[start, end] = Due.of(self._events[start - self._first :])
        return due

    def trim(self) -> list[RoomEvent]:
        """Forget the events every slice has been sent; they are returned."""
        done = min((part.sent for part in self.slices), default=self.read)
        finished = self._events[: done - self._first]
        if finished:
            del self._events[: done - self._first]
            self._first = done
            self._due.clear()
        return finished
