"""The schedule of shows: what a host announces (start, cover, description, stream and
replay), the list of live and upcoming shows on the front page, and the reminders that
follow a show's start time."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, cast

from redis.asyncio import Redis

from .keys import SCHEDULE
from .reminders import Reminders
from .store import Show, ShowStore

#: Shows the front page lists at most.
LISTED = 50
#: An announced show not live this long after its start drops off the front page.
STALE_AFTER_MS = 6 * 3600_000


class ShowSchedule:
    """Shows' set-up and their place on the schedule (one per process)."""

    def __init__(self, redis: Redis, shows: ShowStore, reminders: Reminders) -> None:
        self.redis = redis
        self.shows = shows
        self.reminders = reminders

    async def set_up(self, show: Show, changes: dict[str, str | int]) -> Show:
        """Change some of the show's set-up; a new start time moves its reminders."""
        changed = await self.shows.set_up(show, changes)
        if "starts_at" in changes and changed.status == "draft":
            await self.reminders.schedule(changed)
        if changed.status != "ended" and (changed.starts_at or changed.status == "live"):
            await self.redis.zadd(SCHEDULE, {changed.room_id: _listed_at(changed)})
        elif changed.status == "draft":
            await self.redis.zrem(SCHEDULE, changed.room_id)
        return changed

    async def went_live(self, show: Show) -> None:
        """The show is live: listed as such, and its 'live' reminders go."""
        await self.redis.zadd(SCHEDULE, {show.room_id: _listed_at(show)})
        await self.reminders.went_live(show.room_id)

    async def ended(self, show: Show) -> None:
        """The show ended: off the schedule, no more reminders."""
        await self.redis.zrem(SCHEDULE, show.room_id)
        await self.reminders.ended(show.room_id)

    async def report(self, show: Show) -> dict[str, Any]:
        """The show's report section (built when it ends): reminders asked for and sent."""
        await self.ended(show)
        counts = await self.reminders.counts(show.room_id)
        return dataclasses.asdict(counts)

    async def listed(self) -> list[Show]:
        """Live shows, then upcoming ones by start time (ended ones are dropped)."""
        room_ids = cast(list[str], await self.redis.zrange(SCHEDULE, 0, LISTED * 2))
        shows = [await self.shows.get(room_id) for room_id in room_ids]
        gone = [r for r, s in zip(room_ids, shows, strict=True) if s is None or s.status == "ended"]
        if gone:
            await self.redis.zrem(SCHEDULE, *gone)
        # An announced show whose start passed long ago without going live is not listed.
        stale = int(time.time() * 1000) - STALE_AFTER_MS
        listed = [
            s
            for s in shows
            if s is not None and s.status != "ended" and (s.status == "live" or s.starts_at > stale)
        ]
        listed.sort(key=lambda s: (s.status != "live", _listed_at(s)))
        return listed[:LISTED]


def stage_view(show: Show) -> dict[str, Any]:
    """What a viewer page needs of the show's schedule and video (public)."""
    return {
        "starts_at_ms": show.starts_at,
        "cover_url": show.cover_url,
        "description": show.description,
        "stream_url": show.stream_url,
        "replay_url": show.replay_url,
    }


def _listed_at(show: Show) -> int:
    if show.status == "live":
        return show.live_at or int(time.time() * 1000)
    return show.starts_at
