"""Typed wrappers of the reminder scripts (scripts/*.lua): each sends the show's keys in
KEYS and decodes the reply into a small result; nothing else reads a script's reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis

from stockkeeper.scripts.loader import LuaFolder, preload

from .keys import REMINDERS_DUE, REMINDERS_OUTBOX, Moment, ReminderKeys

SHOWS_LUA = LuaFolder("server.shows", "scripts")

AskOutcome = Literal["asked", "already", "live", "ended"]
#: How long an ended show's reminder keys are kept (its report has the figures already).
ENDED_KEPT_S = 30 * 86_400


@dataclass(frozen=True, slots=True)
class Asked:
    """reminder_ask.lua's answer: what became of the ask, and how many viewers asked."""

    outcome: AskOutcome
    viewers: int = 0


@dataclass(frozen=True, slots=True)
class MomentReached:
    """reminders_moment.lua's answer: ``live``, ``already`` (live before) or ``ended``,
    and how many reminders not yet sent were dropped."""

    outcome: Literal["live", "already", "ended"]
    dropped: int


@dataclass(frozen=True, slots=True)
class Sent:
    """reminders_send.lua's answer: reminders written to the outbox, and still pending
    (``due`` False when the moment was not due: moved meanwhile, or already done)."""

    due: bool
    written: int
    pending: int


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ReminderScripts:
    """The reminder scripts registered on one Redis client."""

    def __init__(self, redis: Redis) -> None:
        self._ask = SHOWS_LUA.register(redis, "reminder_ask")
        self._schedule = SHOWS_LUA.register(redis, "reminders_schedule")
        self._moment = SHOWS_LUA.register(redis, "reminders_moment")
        self._send = SHOWS_LUA.register(redis, "reminders_send")

    async def preload(self, redis: Redis) -> None:
        """Load every script now."""
        await preload(redis, (self._ask, self._schedule, self._moment, self._send))

    async def ask(self, room_id: str, user_id: str, title: str, watch_url: str) -> Asked:
        """Remember that ``user_id`` wants to be reminded of the show."""
        k = ReminderKeys(room_id)
        reply = await self._ask(
            keys=[k.show, k.asked, k.pending("soon"), k.pending("live"), REMINDERS_DUE],
            args=[room_id, user_id, title, watch_url],
        )
        outcome = cast(AskOutcome, _text(reply[0]))
        return Asked(outcome, int(reply[1]) if len(reply) > 1 else 0)

    async def schedule(
        self, room_id: str, title: str, watch_url: str, starts_at: int, lead_ms: int
    ) -> int:
        """Set the show's start; its unsent 'soon' reminders move. When they are due."""
        k = ReminderKeys(room_id)
        reply = await self._schedule(
            keys=[k.show, k.pending("soon"), REMINDERS_DUE],
            args=[room_id, title, watch_url, starts_at, lead_ms],
        )
        return int(reply[1])

    async def moment(self, room_id: str, moment: Literal["live", "ended"]) -> MomentReached:
        """The show went live (its 'live' reminders are due now) or ended."""
        k = ReminderKeys(room_id)
        reply = await self._moment(
            keys=[k.show, k.pending("soon"), k.pending("live"), REMINDERS_DUE, k.asked],
            args=[room_id, moment, ENDED_KEPT_S],
        )
        outcome = cast(Literal["live", "already", "ended"], _text(reply[0]))
        return MomentReached(outcome, int(reply[1]))

    async def send(self, room_id: str, moment: Moment, batch: int, topic: str) -> Sent:
        """Write up to ``batch`` due reminders of the moment to the outbox."""
        k = ReminderKeys(room_id)
        reply = await self._send(
            keys=[k.show, k.pending(moment), REMINDERS_DUE, REMINDERS_OUTBOX],
            args=[room_id, moment, batch, topic],
        )
        return Sent(_text(reply[0]) == "sent", int(reply[1]), int(reply[2]))
