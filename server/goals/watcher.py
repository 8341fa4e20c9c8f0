"""The background task every server process runs for goals: it reads each watched show's
figure a few times a second and, when it has crossed a tier, runs goal_cross.lua. Of all
processes that see the same crossing, only one wins the script; the winner starts the
tier's reward.

Exactly once, when a process dies: the winner holds a lease (``REWARD_LEASE_MS``) while
its starter runs and marks the reward started when it returns. A reward still pending
after its lease is taken over by another process (goal_retry.lua, at most
``MOST_ATTEMPTS`` tries) and started again with the same ``reward_id``. The announcement
reward publishes and marks itself started in one script, so it is announced exactly once
however often it is retried; other starters are idempotent on ``reward_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from ..loops import every
from ..room.events import pack_data
from ..room.keys import RoomKeys
from ..shows.store import Show, ShowStore
from .goal_scripts import RoomLog
from .goals import Goals, GoalState, now_ms
from .keys import WATCHED, GoalKeys
from .rewards import REWARD_LEASE_MS

log = logging.getLogger(__name__)

#: How often each process reads the watched shows' figures.
TICK_S = 0.25
#: Progress reaches viewers at most this often per show.
PROGRESS_PERIOD_MS = 300
#: Tries to start one reward before it is marked failed.
MOST_ATTEMPTS = 5


class GoalWatcher:
    """Moves every watched show's goals on as its figures change (one per process)."""

    def __init__(self, goals: Goals, shows: ShowStore, tick_s: float = TICK_S) -> None:
        self.goals = goals
        self.shows = shows
        self.tick_s = tick_s
        self.lease_ms = REWARD_LEASE_MS
        self._published: dict[str, int] = {}
        self._starting: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Watch until cancelled; a failed round is logged and the next one runs."""
        try:
            await every("Goals", self.tick, self.tick_s)
        finally:
            for task in list(self._starting):
                task.cancel()
            for task in list(self._starting):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def tick(self) -> None:
        """One round over every watched show."""
        for room_id in await self.goals.redis.smembers(WATCHED):
            await self.check(str(room_id))

    async def check(self, room_id: str) -> None:
        """Cross the tiers this show's figure has passed, retry stalled rewards, tell progress."""
        state = await self.goals.state(room_id)
        show = await self.shows.get(room_id)
        if state is None or show is None:
            await self.goals.redis.srem(WATCHED, room_id)
            return
        value = await self.goals.total(room_id, state.ladder)
        for tier in state.ladder.tiers:
            threshold = int(tier["threshold"])
            if threshold > value:
                break
            if threshold not in state.reached and not await self._cross(show, state, tier, value):
                return  # the goals changed under us: next round reads them again
        now = now_ms()
        for threshold, status in state.status.items():
            if status == "pending" and int(state.lease.get(str(threshold), 0)) <= now:
                await self._retry(show, state, threshold)
        await self._progress(room_id, state, value)
        settled = all(s != "pending" for s in state.status.values())
        if settled and (show.status == "ended" or len(state.reached) == len(state.ladder.tiers)):
            await self.goals.redis.srem(WATCHED, room_id)

    async def _cross(self, show: Show, state: GoalState, tier: dict[str, Any], value: int) -> bool:
        threshold = int(tier["threshold"])
        record = {
            "threshold": threshold,
            "metric": state.ladder.metric,
            "currency": state.ladder.currency,
            "value": value,
            "reached_at_ms": now_ms(),
            "label": tier["label"],
            "reward": tier["reward"],
            "reward_id": f"goal:{show.room_id}:{threshold}",
        }
        event = {
            "threshold": threshold,
            "metric": state.ladder.metric,
            "currency": state.ladder.currency,
            "value": value,
            "label": tier["label"],
            "kind": tier["reward"]["kind"],
        }
        outcome = await self.goals.scripts.cross(
            GoalKeys(show.room_id),
            self._room_log(show.room_id),
            state.version,
            threshold,
            orjson.dumps(record),
            self.lease_ms,
            pack_data(event),
        )
        if outcome == "won":
            log.info("Goals: %s reached %s %s", show.room_id, threshold, state.ladder.metric)
            self._start(show, record)
        return outcome != "stale"

    async def _retry(self, show: Show, state: GoalState, threshold: int) -> None:
        k = GoalKeys(show.room_id)
        outcome = await self.goals.scripts.retry(k, threshold, self.lease_ms, MOST_ATTEMPTS)
        if outcome == "won":
            log.warning("Goals: starting the reward of %s at %s again", show.room_id, threshold)
            self._start(show, state.reached[threshold])
        elif outcome == "failed":
            log.error("Goals: gave up starting the reward of %s at %s", show.room_id, threshold)

    def _start(self, show: Show, record: dict[str, Any]) -> None:
        task = asyncio.create_task(self._run_starter(show, record))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _run_starter(self, show: Show, record: dict[str, Any]) -> None:
        spec = {
            **record["reward"],
            "reward_id": record["reward_id"],
            "room_id": show.room_id,
            "metric": record["metric"],
            "threshold": record["threshold"],
            "value": record["value"],
        }
        try:
            await self.goals.rewards.start(show, spec)
            await self.goals.scripts.started(GoalKeys(show.room_id), record["threshold"])
        except Exception:
            # Left pending: another round takes it over when the lease runs out.
            log.exception("Goals: the %s reward of %s failed", spec["kind"], show.room_id)

    async def _progress(self, room_id: str, state: GoalState, value: int) -> None:
        if self._published.get(room_id) == value:
            return
        k, redis = GoalKeys(room_id), self.goals.redis
        if not await redis.set(k.progress_tick, "1", nx=True, px=PROGRESS_PERIOD_MS):
            return
        self._published[room_id] = value
        if await redis.set(k.progress, value, get=True) == str(value):
            return
        upcoming = [t for t in state.ladder.tiers if int(t["threshold"]) > value]
        await self.goals.publisher.publish(
            room_id,
            "goal_progress",
            {
                "metric": state.ladder.metric,
                "currency": state.ladder.currency,
                "value": value,
                "next_threshold": upcoming[0]["threshold"] if upcoming else None,
                "next_label": upcoming[0]["label"] if upcoming else None,
            },
        )

    def _room_log(self, room_id: str) -> RoomLog:
        return RoomLog(RoomKeys(room_id), self.goals.publisher.settings.history_length)
