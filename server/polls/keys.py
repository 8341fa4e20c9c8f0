"""Every Redis key of polls. One poll's keys share the hash tag ``{poll:ROOM:ID}`` (one
cluster slot); a room's list of polls sits with the room's keys."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ls"

#: Sorted set of open polls, member "ROOM ID" (a space is in no room id), score: closes at
#: (epoch ms). Every process closes the ones whose window has passed.
CLOSING = f"{PREFIX}:polls:closing"


@dataclass(frozen=True, slots=True)
class PollKeys:
    """Every Redis key of one poll."""

    room_id: str
    poll_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{poll:{self.room_id}:{self.poll_id}}}"

    @property
    def poll(self) -> str:
        """Hash: question, answers (JSON), allow_change, window_s, state, opens/closes at."""
        return f"{self._base}:poll"

    @property
    def votes(self) -> str:
        """Hash: user id -> the answer (0-based) they chose."""
        return f"{self._base}:votes"

    @property
    def counts(self) -> str:
        """Hash: answer (0-based) -> votes for it."""
        return f"{self._base}:counts"

    @property
    def results_tick(self) -> str:
        """Who publishes this poll's results in this short period (SET NX PX)."""
        return f"{self._base}:results-tick"

    @property
    def closing_member(self) -> str:
        """This poll's member of ``CLOSING``."""
        return f"{self.room_id} {self.poll_id}"


def room_polls(room_id: str) -> str:
    """Sorted set: the room's poll ids by creation time (epoch ms)."""
    return f"{PREFIX}:{{room:{room_id}}}:polls"


def poll_sequence(room_id: str) -> str:
    """Counter: the room's last poll id."""
    return f"{PREFIX}:{{room:{room_id}}}:poll-seq"
