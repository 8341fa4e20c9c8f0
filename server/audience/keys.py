"""Every Redis key of a room's audience figures. All share the room's hash tag ``{room:ID}``,
so each audience script touches one cluster slot (the room's)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ls"


@dataclass(frozen=True, slots=True)
class AudienceKeys:
    """The audience keys of one room."""

    room_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{room:{self.room_id}}}:watch"

    @property
    def open(self) -> str:
        """Hash: user id -> connections the viewer has open now, over every process."""
        return f"{self._base}:open"

    @property
    def started(self) -> str:
        """Hash: user id -> epoch ms the viewer's current (or last) visit started."""
        return f"{self._base}:started"

    @property
    def left(self) -> str:
        """Hash: user id -> epoch ms the viewer's last connection closed, while the visit may
        still go on (a reconnect within the gap continues it)."""
        return f"{self._base}:left"

    @property
    def done(self) -> str:
        """Hash: user id -> ms watched in the viewer's finished visits."""
        return f"{self._base}:done"

    @property
    def visits(self) -> str:
        """Hash: user id -> the viewer's visits so far."""
        return f"{self._base}:visits"

    def watch_keys(self) -> list[str]:
        """The keys the enter and leave scripts take, in their KEYS order."""
        return [self.open, self.started, self.left, self.done, self.visits]

    @property
    def minutes(self) -> str:
        """Hash: "<minute>:<figure>" -> the show's number for that minute (numbers.py)."""
        return f"{PREFIX}:{{room:{self.room_id}}}:minutes"

    @property
    def sample_tick(self) -> str:
        """Who samples this room's numbers in this period (SET NX)."""
        return f"{PREFIX}:{{room:{self.room_id}}}:minutes-tick"
