"""Every Redis key of shows' schedules and reminders.

Reminders of every show share the hash tag ``{reminders}``: the script that moves due
reminders into the outbox touches the due index, the show's reminder keys and the outbox
stream at once, so they live in one Redis Cluster slot. Reminders are few next to purchases
(one per viewer who asked, twice per show), so one slot carries them comfortably.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PREFIX = "ls"
_TAG = "{reminders}"

#: Sorted set: the rooms of announced or live shows, by start (or going-live) time.
SCHEDULE = f"{PREFIX}:shows:schedule"
#: Sorted set of ``moment|room_id`` by the epoch ms its reminders are due.
REMINDERS_DUE = f"{PREFIX}:{_TAG}:due"
#: The reminders' outbox stream, registered with the relay (``event`` entries).
REMINDERS_OUTBOX = f"{PREFIX}:{_TAG}:outbox"

#: When a reminder goes: some time before the start, and when the host goes live.
Moment = Literal["soon", "live"]
MOMENTS: tuple[Moment, ...] = ("soon", "live")


def due_member(moment: Moment, room_id: str) -> str:
    """The member of REMINDERS_DUE for a show's moment (room ids never contain ``|``)."""
    return f"{moment}|{room_id}"


@dataclass(frozen=True, slots=True)
class ReminderKeys:
    """The reminder keys of one show, all under the ``{reminders}`` hash tag."""

    room_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{_TAG}:room:{self.room_id}"

    @property
    def show(self) -> str:
        """Hash: title, starts_at, soon_at, live_at, ended, watch_url and sent counts."""
        return f"{self._base}:show"

    @property
    def asked(self) -> str:
        """Set: the viewers who asked to be reminded (each once)."""
        return f"{self._base}:asked"

    def pending(self, moment: Moment) -> str:
        """Sorted set: viewers whose reminder of this moment has not gone yet, by ask time."""
        return f"{self._base}:pending:{moment}"
