"""How long each signed-in viewer watched a room, over every server process.

A viewer's first connection starts a visit; closing the last one ends it, counted when the
viewer leaves. A viewer back within the reconnect gap (a dropped network, a page reload, a
reconnect to another process) continues the same visit, and the short gap counts as
watched. Several connections at once (two tabs, two processes) are one visit. Each change
is one Lua script on the room's keys, so processes never race each other.

Anonymous readers have no id to join their reconnects by and are not counted: distinct
viewers here are signed-in viewers, the same people who can chat and buy.

Known limit: a process killed outright (SIGKILL, power loss) never tells of its viewers
leaving; their visits stay open until they come back, and count until then.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis

from stockkeeper.scripts.loader import LuaFolder

from .keys import AudienceKeys
from .settings import AudienceSettings

AUDIENCE_LUA = LuaFolder("server.audience", "scripts")

EnterOutcome = Literal["joined", "resumed", "visit"]
LeaveOutcome = Literal["still_watching", "left", "unknown"]
Clock = Callable[[], int]


def wall_clock_ms() -> int:
    """Now, in epoch milliseconds."""
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Entered:
    """watch_enter.lua's answer."""

    outcome: EnterOutcome
    connections: int


@dataclass(frozen=True, slots=True)
class Left:
    """watch_leave.lua's answer."""

    outcome: LeaveOutcome
    connections: int


@dataclass(frozen=True, slots=True)
class WatchSummary:
    """A room's watch time: per distinct signed-in viewer, in whole seconds."""

    distinct_viewers: int
    watching_now: int
    visits: int
    average_s: int
    median_s: int
    total_s: int

    def as_dict(self) -> dict[str, int]:
        """The summary as the dashboard and the report carry it."""
        return {
            "distinct_viewers": self.distinct_viewers,
            "watching_now": self.watching_now,
            "visits": self.visits,
            "average_s": self.average_s,
            "median_s": self.median_s,
            "total_s": self.total_s,
        }


class WatchTime:
    """Each signed-in viewer's time in each room (the hub's presence: server/room/presence.py)."""

    def __init__(
        self, redis: Redis, settings: AudienceSettings, clock: Clock = wall_clock_ms
    ) -> None:
        self.redis = redis
        self.settings = settings
        #: Epoch ms now; tests set a clock they move by hand.
        self.clock = clock
        self._enter = AUDIENCE_LUA.register(redis, "watch_enter")
        self._leave = AUDIENCE_LUA.register(redis, "watch_leave")
        #: This process's counted connections per room (anonymous ones included): the rooms
        #: whose numbers this process samples.
        self.local: Counter[str] = Counter()

    def rooms_here(self) -> list[str]:
        """Rooms with counted viewers on this process."""
        return [room_id for room_id, count in self.local.items() if count > 0]

    async def entered(self, room_id: str, user_id: str | None) -> None:
        """A counted connection opened (presence)."""
        self.local[room_id] += 1
        if user_id:
            await self.enter(room_id, user_id, self.clock())

    async def left(self, room_id: str, user_id: str | None) -> None:
        """A counted connection closed (presence)."""
        self.local[room_id] -= 1
        if self.local[room_id] <= 0:
            del self.local[room_id]
        if user_id:
            await self.leave(room_id, user_id, self.clock())

    async def enter(self, room_id: str, user_id: str, now_ms: int) -> Entered:
        """The viewer opened a connection at ``now_ms``."""
        reply = await self._enter(
            keys=AudienceKeys(room_id).watch_keys(),
            args=[user_id, now_ms, self.settings.reconnect_gap_ms],
        )
        return Entered(cast(EnterOutcome, _text(reply[0])), int(reply[1]))

    async def leave(self, room_id: str, user_id: str, now_ms: int) -> Left:
        """The viewer closed a connection at ``now_ms``."""
        reply = await self._leave(keys=AudienceKeys(room_id).watch_keys(), args=[user_id, now_ms])
        return Left(cast(LeaveOutcome, _text(reply[0])), int(reply[1]))

    async def seconds(self, room_id: str, user_id: str, now_ms: int) -> int:
        """The viewer's total time in the room so far, the current visit included."""
        k = AudienceKeys(room_id)
        pipe = self.redis.pipeline(transaction=False)
        for key in (k.open, k.started, k.left, k.done):
            pipe.hget(key, user_id)
        open_, started, left, done = await pipe.execute()
        return _watched_ms(open_, started, left, done, now_ms) // 1000

    async def summary(self, room_id: str, now_ms: int) -> WatchSummary:
        """Distinct viewers, visits, and average and median watch time of the room."""
        k = AudienceKeys(room_id)
        pipe = self.redis.pipeline(transaction=False)
        for key in (k.open, k.started, k.left, k.done, k.visits):
            pipe.hgetall(key)
        open_, started, left, done, visits = cast(
            list[dict[str | bytes, str | bytes]], await pipe.execute()
        )
        watched = [
            _watched_ms(open_.get(user), start, left.get(user), done.get(user), now_ms) // 1000
            for user, start in started.items()
        ]
        return WatchSummary(
            distinct_viewers=len(watched),
            watching_now=sum(1 for count in open_.values() if int(count) > 0),
            visits=sum(int(count) for count in visits.values()),
            average_s=round(sum(watched) / len(watched)) if watched else 0,
            median_s=round(statistics.median(watched)) if watched else 0,
            total_s=sum(watched),
        )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _watched_ms(
    open_: str | bytes | None,
    started: str | bytes | None,
    left: str | bytes | None,
    done: str | bytes | None,
    now_ms: int,
) -> int:
    """Finished visits plus the current one: up to now while connected, up to when the
    viewer left while away (they may still come back within the gap)."""
    total = int(done or 0)
    if started is None:
        return total
    if open_ is not None and int(open_) > 0:
        return total + max(0, now_ms - int(started))
    if left is not None:
        return total + max(0, int(left) - int(started))
    return total
