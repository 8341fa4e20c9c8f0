"""Every Redis key and channel of a live room. All share the hash tag ``{room:ID}``."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ls"


@dataclass(frozen=True, slots=True)
class RoomKeys:
    """Every Redis key of one room, with the room's hash tag."""

    room_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{room:{self.room_id}}}"

    @property
    def events(self) -> str:
        """Stream of the room's events; entry ids are the offsets viewers resume from."""
        return f"{self._base}:events"

    @property
    def channel(self) -> str:
        """Pub/sub channel every server process with viewers of this room listens to."""
        return f"{self._base}:live"

    @property
    def state(self) -> str:
        """Hash: pinned message, announcement, slow mode, pinned offer."""
        return f"{self._base}:state"

    @property
    def muted(self) -> str:
        """Set: user ids muted in the room's chat."""
        return f"{self._base}:muted"

    @property
    def banned(self) -> str:
        """Set: user ids banned from the room."""
        return f"{self._base}:banned"

    @property
    def blocked_words(self) -> str:
        """Set: the room's blocked words, casefolded."""
        return f"{self._base}:blocked-words"

    @property
    def last_chat(self) -> str:
        """Hash: user id -> epoch ms of their last chat message (slow mode, rate limit)."""
        return f"{self._base}:last-chat"

    @property
    def likes(self) -> str:
        """String: the room's like counter."""
        return f"{self._base}:likes"

    @property
    def viewers(self) -> str:
        """Hash: server process id -> "count:epoch ms" of its viewers in this room."""
        return f"{self._base}:viewers"

    @property
    def peak_viewers(self) -> str:
        """Sorted set with one member, ``viewers``: the most viewers seen at once (ZADD GT)."""
        return f"{self._base}:peak"

    @property
    def chat_minutes(self) -> str:
        """Hash: minute (epoch ms // 60000) -> chat messages posted in it."""
        return f"{self._base}:chat-minutes"

    @property
    def owner(self) -> str:
        """String: the host id that runs this room (set once, by the first host action)."""
        return f"{self._base}:owner"

    @property
    def show(self) -> str:
        """Hash: the show in this room: title, status, and when it went live and ended."""
        return f"{self._base}:show"

    @property
    def report(self) -> str:
        """String: the show's final report (JSON), written when the host ends the show."""
        return f"{self._base}:report"

    @property
    def counts_tick(self) -> str:
        """Who publishes this second's viewer and like counts (SET NX)."""
        return f"{self._base}:counts-tick"


def stock_tick(offer_id: str) -> str:
    """Who publishes an offer's stock level in this short period (SET NX)."""
    return f"{PREFIX}:{{offer:{offer_id}}}:stock-tick"
