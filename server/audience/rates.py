"""Interaction rate and conversion, over the show's distinct viewers.

- distinct viewers: signed-in people known to have been in the show: those who watched (watch
  time), chatted or bought (a buyer through the API alone counts as a viewer too, so neither
  rate can pass 100%);
- interaction rate = distinct chatters / distinct viewers;
- conversion = distinct buyers (at least one confirmed order) / distinct viewers.

Anonymous readers cannot chat or buy, and have no id to count them by: they are not viewers
here (the viewer counts and the per-minute viewers do include them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper

from ..room.keys import RoomKeys
from .keys import AudienceKeys

#: How the console and the report define each rate, word for word.
DEFINITIONS = {
    "distinct_viewers": "signed-in people who watched, chatted or bought in the show",
    "interaction_rate": "distinct chatters ÷ distinct viewers",
    "conversion": "distinct buyers (at least one paid order) ÷ distinct viewers",
}


@dataclass(frozen=True, slots=True)
class Rates:
    """The show's distinct viewers, chatters and buyers, and the two rates."""

    distinct_viewers: int
    chatters: int
    buyers: int

    @property
    def interaction_rate(self) -> float:
        """Distinct chatters over distinct viewers (0 without viewers)."""
        return round(self.chatters / self.distinct_viewers, 4) if self.distinct_viewers else 0.0

    @property
    def conversion(self) -> float:
        """Distinct buyers over distinct viewers (0 without viewers)."""
        return round(self.buyers / self.distinct_viewers, 4) if self.distinct_viewers else 0.0

    def as_dict(self) -> dict[str, int | float]:
        """The figures as the dashboard and the report carry them."""
        return {
            "distinct_viewers": self.distinct_viewers,
            "chatters": self.chatters,
            "buyers": self.buyers,
            "interaction_rate": self.interaction_rate,
            "conversion": self.conversion,
        }


async def show_rates(
    redis: Redis, room_id: str, buyers: set[str] | None = None, keeper: StockKeeper | None = None
) -> Rates:
    """The room's rates; ``buyers`` when the caller has them, else read with ``keeper``."""
    if buyers is None:
        if keeper is None:
            raise ValueError("show_rates needs the buyers or the keeper to read them")
        buyers = await keeper.buyers(await keeper.room_offers(room_id))
    pipe = redis.pipeline(transaction=False)
    pipe.hkeys(AudienceKeys(room_id).started)
    # The chat script keeps every chatter's last message time: its fields are the chatters.
    pipe.hkeys(RoomKeys(room_id).last_chat)
    watchers, chatters = cast(list[list[str]], await pipe.execute())
    viewers = set(watchers) | set(chatters) | buyers
    return Rates(distinct_viewers=len(viewers), chatters=len(chatters), buyers=len(buyers))
