"""Reminders: viewers ask once per show; at a set time before the start and when the host
goes live, one event per viewer goes to Kafka (``shows.reminders``) for the operator's
notification service.

Exactly once per viewer and moment, with any number of processes: a viewer enters each
moment's pending set at most once (asking is idempotent), and one script moves due viewers
out of that set and into the relay's outbox in the same step (reminders_send.lua). Every
process runs ``run_reminders``; whichever gets there first sends, the others find nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from stockkeeper.cancellation import stop_if_cancelled
from stockkeeper.relay import register_outbox

from ..errors import Conflict, ErrorCode
from ..loops import every
from .keys import MOMENTS, REMINDERS_DUE, REMINDERS_OUTBOX, ReminderKeys
from .reminder_scripts import ReminderScripts
from .settings import ScheduleSettings
from .store import Show

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReminderCounts:
    """How many viewers asked, and how many reminders of each moment went out."""

    asked: int
    sent_soon: int
    sent_live: int
    dropped: int


class Reminders:
    """Viewers' reminders of shows (one per process)."""

    def __init__(self, redis: Redis, settings: ScheduleSettings) -> None:
        self.redis = redis
        self.settings = settings
        self.scripts = ReminderScripts(redis)
        self._registered = False

    async def _register(self) -> None:
        """Register the reminders' outbox with the relay before its first entry."""
        if not self._registered:
            await register_outbox(self.redis, REMINDERS_OUTBOX)
            self._registered = True

    async def ask(self, show: Show, user_id: str) -> int:
        """Remind ``user_id`` of the show (asking twice is once); how many viewers asked."""
        outcome = show.status
        if show.status == "draft":
            asked = await self.scripts.ask(show.room_id, user_id, show.title, _watch_url(show))
            if asked.outcome in ("asked", "already"):
                return asked.viewers
            outcome = "live" if asked.outcome == "live" else "ended"
        if outcome == "live":
            raise Conflict(ErrorCode.SHOW_ALREADY_LIVE, "The show is live: watch it now.")
        raise Conflict(ErrorCode.SHOW_ENDED, "This show has ended.")

    async def asked(self, room_id: str, user_id: str) -> bool:
        """Whether the viewer asked to be reminded of the show."""
        return bool(await self.redis.sismember(ReminderKeys(room_id).asked, user_id))

    async def schedule(self, show: Show) -> None:
        """The show's start time was set or moved: its unsent 'soon' reminders move too."""
        await self.scripts.schedule(
            show.room_id,
            show.title,
            _watch_url(show),
            show.starts_at,
            self.settings.reminder_lead_s * 1000,
        )

    async def went_live(self, room_id: str) -> None:
        """The host went live: the 'live' reminders are due now."""
        await self.scripts.moment(room_id, "live")

    async def ended(self, room_id: str) -> None:
        """The show ended: nothing more is sent."""
        await self.scripts.moment(room_id, "ended")

    async def counts(self, room_id: str) -> ReminderCounts:
        """How many asked and how many reminders went out."""
        k = ReminderKeys(room_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.scard(k.asked)
        pipe.hmget(k.show, "sent_soon", "sent_live", "dropped")
        asked, sent = await pipe.execute()
        soon, live, dropped = (int(n or 0) for n in sent)
        return ReminderCounts(int(asked), soon, live, dropped)

    async def send_due(self) -> int:
        """Write every reminder due now to the outbox; how many were written."""
        await self._register()
        now = int(time.time() * 1000)
        members = cast(
            list[str], await self.redis.zrangebyscore(REMINDERS_DUE, "-inf", now, 0, 100)
        )
        written = 0
        for member in members:
            name, _, room_id = member.partition("|")
            moment = next((m for m in MOMENTS if m == name), None)
            if moment is None:
                continue
            while True:
                stop_if_cancelled()
                sent = await self.scripts.send(
                    room_id,
                    moment,
                    self.settings.reminder_batch,
                    self.settings.reminders_topic,
                )
                written += sent.written
                if not sent.due or sent.pending == 0:
                    break
        return written

    async def run(self) -> None:
        """Send due reminders until cancelled (every process runs this)."""
        await every("Show reminders", self._send_and_say, self.settings.reminder_poll_s)

    async def _send_and_say(self) -> None:
        written = await self.send_due()
        if written:
            log.info("Sent %d show reminders to the outbox", written)


def _watch_url(show: Show) -> str:
    return f"/watch/{show.room_id}"


__all__ = ["ReminderCounts", "Reminders"]
