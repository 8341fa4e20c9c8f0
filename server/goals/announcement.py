"""The reward every show has: an announcement to the room when a tier is reached."""

from __future__ import annotations

from typing import Any

from ..errors import ErrorCode, Invalid
from ..plain_text import without_bidi_controls
from ..room.events import pack_data
from ..room.keys import RoomKeys
from ..shows.store import Show
from .goal_scripts import GoalScripts, RoomLog
from .keys import GoalKeys

MAX_TEXT = 500


def check_announcement(spec: dict[str, Any]) -> None:
    """An announcement reward is ``{"kind": "announcement", "text": "1-500 characters"}``."""
    text = spec.get("text")
    extra = set(spec) - {"kind", "text"}
    if (
        extra
        or not isinstance(text, str)
        or not without_bidi_controls(text).strip()
        or len(text) > MAX_TEXT
    ):
        raise Invalid(
            ErrorCode.INVALID_REWARD,
            'An announcement reward is {"kind": "announcement", "text": "1-500 characters"}.',
            kind="announcement",
        )


class Announcer:
    """Starts announcement rewards: publishes the text and marks the reward started in one
    script (goal_announce.lua), so the room hears it once even when a start is retried."""

    def __init__(self, scripts: GoalScripts, history_length: int) -> None:
        self.scripts = scripts
        self.history_length = history_length

    async def start(self, show: Show, spec: dict[str, Any]) -> None:
        """Announce ``spec["text"]`` in the show's room (once per reached tier)."""
        text = without_bidi_controls(str(spec["text"])).strip()
        await self.scripts.announce(
            GoalKeys(show.room_id),
            RoomLog(RoomKeys(show.room_id), self.history_length),
            int(spec["threshold"]),
            pack_data({"text": text, "goal_threshold": spec["threshold"]}),
        )
