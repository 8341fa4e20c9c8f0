"""Every Redis key of a room's questions, under the room's hash tag ``{room:ID}``."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ls"


@dataclass(frozen=True, slots=True)
class QuestionKeys:
    """Every Redis key of one room's questions."""

    room_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{room:{self.room_id}}}:questions"

    @property
    def questions(self) -> str:
        """Hash: chat message offset -> JSON of the message (user, name, text, asked at)."""
        return self._base

    @property
    def marks(self) -> str:
        """Hash: message offset -> how many viewers marked it."""
        return f"{self._base}:marks"

    def markers(self, offset: str) -> str:
        """Set: the viewers who marked the message at ``offset``."""
        return f"{self._base}:markers:{offset}"

    def marks_tick(self, offset: str) -> str:
        """Who tells the room of this question's marks in this period (SET NX PX)."""
        return f"{self._base}:marks-tick:{offset}"

    @property
    def order(self) -> str:
        """Sorted set: message offsets by when they were first marked (epoch ms)."""
        return f"{self._base}:order"

    @property
    def answers(self) -> str:
        """Hash: message offset -> JSON of the host's answer and when it was given."""
        return f"{self._base}:answers"

    @property
    def pinned(self) -> str:
        """String: the offset of the question pinned with its answer."""
        return f"{self._base}:pinned"
