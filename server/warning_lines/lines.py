"""Typed wrappers of the warning-line scripts (scripts/warning_set.lua, warning_check.lua)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis

from stockkeeper.keys import OfferKeys
from stockkeeper.scripts.loader import LuaFolder

from ..errors import ErrorCode, NotFound
from .keys import LINED_OFFERS, line_key

WARNING_LUA = LuaFolder("server.warning_lines", "scripts")

CheckOutcome = Literal["no_line", "above", "rearmed", "below", "crossed"]


@dataclass(frozen=True, slots=True)
class Line:
    """An offer's warning line as set: units left, or a share of total stock (one is 0)."""

    units: int = 0
    share: float = 0.0
    armed: bool = True
    crossings: int = 0

    @property
    def is_set(self) -> bool:
        """Whether the offer has a line at all."""
        return self.units > 0 or self.share > 0

    def as_dict(self) -> dict[str, int | float | bool]:
        """The line as the API shows it."""
        return {
            "units": self.units,
            "share": self.share,
            "armed": self.armed,
            "crossings": self.crossings,
        }


@dataclass(frozen=True, slots=True)
class Check:
    """warning_check.lua's answer."""

    outcome: CheckOutcome
    available: int
    line: int
    crossings: int


class WarningLines:
    """Offers' warning lines, and the atomic check that fires them."""

    def __init__(self, redis: Redis, topic: str) -> None:
        self.redis = redis
        self.topic = topic
        self._set = WARNING_LUA.register(redis, "warning_set")
        self._check = WARNING_LUA.register(redis, "warning_check")

    async def set_line(self, offer_id: str, units: int = 0, share: float = 0.0) -> Line:
        """Set the offer's line (both 0: clear it). NotFound for an unknown offer."""
        keys = OfferKeys(offer_id)
        reply = await self._set(keys=[line_key(offer_id), keys.offer], args=[units, share])
        if _text(reply[0]) == "unknown_offer":
            raise NotFound(ErrorCode.UNKNOWN_OFFER, f"There is no offer {offer_id}.")
        if units > 0 or share > 0:
            await self.redis.sadd(LINED_OFFERS, offer_id)
        else:
            await self.redis.srem(LINED_OFFERS, offer_id)
        return await self.get(offer_id)

    async def get(self, offer_id: str) -> Line:
        """The offer's line (``is_set`` False without one)."""
        raw = cast(dict[str, str], await self.redis.hgetall(line_key(offer_id)))
        return Line(
            units=int(raw.get("units", 0)),
            share=float(raw.get("share", 0)),
            armed=raw.get("armed", "1") == "1",
            crossings=int(raw.get("crossings", 0)),
        )

    async def lined_offers(self) -> set[str]:
        """Every offer with a line."""
        return cast(set[str], await self.redis.smembers(LINED_OFFERS))

    async def check(self, offer_id: str, available: int) -> Check:
        """Compare the offer's stock with its line; fire (once) on a crossing.
        ``available`` is the sum over buckets, used only for an offer split into buckets."""
        keys = OfferKeys(offer_id)
        reply = await self._check(
            keys=[line_key(offer_id), keys.offer, keys.outbox], args=[self.topic, available]
        )
        return Check(
            cast(CheckOutcome, _text(reply[0])), int(reply[1]), int(reply[2]), int(reply[3])
        )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
