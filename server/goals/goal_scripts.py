"""Typed wrappers of the goals' Lua scripts (scripts/*.lua, with lib.lua as prelude):
each sends one show's goal keys (and its room's stream) in KEYS and decodes the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis

from stockkeeper.scripts.loader import LuaFolder

from ..room.keys import RoomKeys
from .keys import GoalKeys

GOALS_LUA = LuaFolder("server.goals", "scripts", prelude="lib")

CrossOutcome = Literal["won", "taken", "stale"]
RetryOutcome = Literal["won", "busy", "failed"]


@dataclass(frozen=True, slots=True)
class SetReply:
    """goals_set.lua's answer: the goals' new version, or a reached threshold they drop."""

    outcome: Literal["set", "reached"]
    version: int = 0
    threshold: int = 0


@dataclass(frozen=True, slots=True)
class RoomLog:
    """Where a script appends a room event: the room's keys and how much history it keeps."""

    room: RoomKeys
    history_length: int


class GoalScripts:
    """The goal scripts registered on one Redis client (one that decodes answers)."""

    def __init__(self, redis: Redis) -> None:
        self._set = GOALS_LUA.register(redis, "goals_set")
        self._cross = GOALS_LUA.register(redis, "goal_cross")
        self._retry = GOALS_LUA.register(redis, "goal_retry")
        self._started = GOALS_LUA.register(redis, "goal_started")
        self._announce = GOALS_LUA.register(redis, "goal_announce")

    async def set(
        self, keys: GoalKeys, ladder: bytes, metric_key: str, thresholds: list[int]
    ) -> SetReply:
        """Replace the goals, keeping every tier already reached."""
        reply = await self._set(
            keys=[keys.goals, keys.reached], args=[ladder, metric_key, *thresholds]
        )
        if reply[0] == "set":
            return SetReply("set", version=int(reply[1]))
        return SetReply("reached", threshold=int(reply[1]))

    async def cross(
        self,
        keys: GoalKeys,
        log: RoomLog,
        version: int,
        threshold: int,
        record: bytes,
        lease_ms: int,
        event: bytes,
    ) -> CrossOutcome:
        """Record the tier as reached and tell the room, if no process did before."""
        reply = await self._cross(
            keys=[keys.goals, keys.reached, keys.status, keys.lease, log.room.events],
            args=[
                version,
                threshold,
                record,
                lease_ms,
                log.room.channel,
                log.history_length,
                event,
            ],
        )
        return cast(CrossOutcome, reply[0])

    async def retry(
        self, keys: GoalKeys, threshold: int, lease_ms: int, attempts: int
    ) -> RetryOutcome:
        """Take over starting a reward whose lease ran out."""
        reply = await self._retry(
            keys=[keys.status, keys.lease], args=[threshold, lease_ms, attempts]
        )
        return cast(RetryOutcome, reply[0])

    async def started(self, keys: GoalKeys, threshold: int) -> str:
        """Mark the tier's reward started; the status it had if it was not pending."""
        return cast(str, await self._started(keys=[keys.status], args=[threshold]))

    async def announce(self, keys: GoalKeys, log: RoomLog, threshold: int, event: bytes) -> bool:
        """Publish the tier's announcement and mark it started, unless it was before."""
        reply = await self._announce(
            keys=[keys.status, log.room.events],
            args=[threshold, log.room.channel, log.history_length, event],
        )
        return bool(reply[0] == "announced")
