"""Polls of a show: created by its host, started for a window, one vote per viewer.

Votes are one Lua script each (scripts/poll_vote.lua). Live results reach the room as
``poll_results`` events at most every ``RESULTS_PERIOD_MS`` per poll, whichever process
took the votes: a process that took a vote keeps the poll on its list until it wins the
poll's results tick (SET NX PX) and publishes the counts it then reads, so the last vote
is always in a published result. Polls whose window has passed are ended by whichever
process sees it first (poll_close.lua answers 'closed' once), which tells the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from ..errors import Conflict, ErrorCode, Invalid, NotFound
from ..loops import every
from ..room.publisher import RoomPublisher
from ..shows.store import Show
from .keys import CLOSING, PollKeys, poll_sequence, room_polls
from .poll_scripts import PollScripts, VoteReply

log = logging.getLogger(__name__)

MIN_ANSWERS, MAX_ANSWERS = 2, 4
MIN_WINDOW_S, MAX_WINDOW_S = 10, 600
#: Live results of one poll go to the room at most this often.
RESULTS_PERIOD_MS = 250
#: How often each process looks for polls to close and results to publish.
TICK_S = 0.1
#: The newest polls a room lists.
LISTED = 50


def _now_ms() -> int:
    return int(time.time() * 1000)


def unknown_poll() -> NotFound:
    """The error for a poll id the room does not have."""
    return NotFound(ErrorCode.UNKNOWN_POLL, "This room has no such poll.")


class Polls:
    """Every room's polls, over a Redis client that decodes answers."""

    def __init__(self, redis: Redis, publisher: RoomPublisher) -> None:
        self.redis = redis
        self.publisher = publisher
        self.scripts = PollScripts(redis)
        #: Polls this process took votes for whose results it has not published yet.
        self._dirty: set[tuple[str, str]] = set()
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ host

    async def create(
        self,
        room_id: str,
        question: str,
        answers: list[str],
        window_s: int,
        allow_change: bool,
    ) -> dict[str, Any]:
        """A draft poll in the room; its view."""
        if not MIN_ANSWERS <= len(answers) <= MAX_ANSWERS:
            raise Invalid(
                ErrorCode.OUT_OF_RANGE,
                f"A poll has {MIN_ANSWERS}-{MAX_ANSWERS} answers.",
                field="answers",
                min=MIN_ANSWERS,
                max=MAX_ANSWERS,
            )
        poll_id = str(await self.redis.incr(poll_sequence(room_id)))
        now = _now_ms()
        k = PollKeys(room_id, poll_id)
        await self.redis.hset(
            k.poll,
            mapping={
                "question": question,
                "answers": orjson.dumps(answers),
                "answer_count": len(answers),
                "window_s": window_s,
                "allow_change": "1" if allow_change else "0",
                "state": "draft",
                "created_at": now,
            },
        )
        await self.redis.zadd(room_polls(room_id), {poll_id: now})
        return await self.view(room_id, poll_id)

    async def start(self, room_id: str, poll_id: str) -> dict[str, Any]:
        """Start a draft poll now; the room gets ``poll_opened``."""
        k = PollKeys(room_id, poll_id)
        reply = await self.scripts.open(k)
        if reply.outcome == "unknown_poll":
            raise unknown_poll()
        if reply.outcome == "invalid_state":
            raise Conflict(
                ErrorCode.INVALID_STATE,
                "Only a poll that has not started can start.",
                state=reply.state,
            )
        await self.redis.zadd(CLOSING, {k.closing_member: reply.closes_at_ms})
        view = await self.view(room_id, poll_id)
        await self.publisher.publish(room_id, "poll_opened", {"poll": view})
        return view

    async def end(self, room_id: str, poll_id: str) -> dict[str, Any]:
        """End the poll now (ending it again changes nothing); the room gets ``poll_closed``."""
        k = PollKeys(room_id, poll_id)
        reply = await self.scripts.close(k, now=True)
        if reply.outcome == "unknown_poll":
            raise unknown_poll()
        return await self._closed(room_id, poll_id, tell=reply.outcome == "closed")

    async def _closed(self, room_id: str, poll_id: str, tell: bool) -> dict[str, Any]:
        k = PollKeys(room_id, poll_id)
        view = await self.view(room_id, poll_id)
        if tell:
            await self.publisher.publish(room_id, "poll_closed", {"poll": view})
        await self.redis.zrem(CLOSING, k.closing_member)
        self._dirty.discard((room_id, poll_id))
        return view

    # ------------------------------------------------------------------ viewers

    async def vote(self, room_id: str, poll_id: str, user_id: str, answer: int) -> VoteReply:
        """Record a viewer's vote; the reply for every outcome that counts as done
        (``voted``, ``changed``, ``unchanged``), the error otherwise."""
        reply = await self.scripts.vote(PollKeys(room_id, poll_id), user_id, answer)
        match reply.outcome:
            case "voted" | "changed":
                self._dirty.add((room_id, poll_id))
                return reply
            case "unchanged":
                return reply
            case "unknown_poll":
                raise unknown_poll()
            case "not_open":
                raise Conflict(ErrorCode.POLL_NOT_OPEN, "This poll has not started yet.")
            case "closed":
                raise Conflict(ErrorCode.POLL_CLOSED, "This poll has ended.")
            case "already_voted":
                raise Conflict(
                    ErrorCode.ALREADY_VOTED,
                    "You have voted in this poll, and it does not allow changing a vote.",
                    answer=reply.previous,
                )
        count = int(await self.redis.hget(PollKeys(room_id, poll_id).poll, "answer_count") or 0)
        raise Invalid(
            ErrorCode.UNKNOWN_ANSWER,
            f"This poll's answers are numbered 0 to {count - 1}.",
            answers=count,
        )

    # ------------------------------------------------------------------ reading

    async def view(self, room_id: str, poll_id: str) -> dict[str, Any]:
        """A poll as the API and room events show it, with its counts."""
        views = await self.views(room_id, [poll_id])
        if not views:
            raise unknown_poll()
        return views[0]

    async def views(self, room_id: str, poll_ids: list[str]) -> list[dict[str, Any]]:
        """These polls of the room (the ones that exist), in this order."""
        pipe = self.redis.pipeline(transaction=False)
        for poll_id in poll_ids:
            k = PollKeys(room_id, poll_id)
            pipe.hgetall(k.poll)
            pipe.hgetall(k.counts)
        replies = await pipe.execute()
        now = _now_ms()
        found = []
        for i, poll_id in enumerate(poll_ids):
            raw = cast(dict[str, str], replies[2 * i])
            if raw:
                found.append(_view(room_id, poll_id, raw, replies[2 * i + 1], now))
        return found

    async def of_room(self, room_id: str) -> list[dict[str, Any]]:
        """The room's newest polls, newest first."""
        poll_ids = cast(list[str], await self.redis.zrevrange(room_polls(room_id), 0, LISTED - 1))
        return await self.views(room_id, poll_ids)

    async def report_section(self, show: Show) -> dict[str, Any]:
        """The show report's ``polls`` section: every poll with its final counts. The show
        has ended, so polls still open end now (their counts are the report's)."""
        poll_ids = cast(list[str], await self.redis.zrange(room_polls(show.room_id), 0, -1))
        for view in await self.views(show.room_id, poll_ids):
            if view["state"] in ("open", "draft"):
                await self.end(show.room_id, view["poll_id"])
        return {"polls": await self.views(show.room_id, poll_ids)}

    # ------------------------------------------------------------------ the loop

    async def start_loop(self) -> None:
        """Start closing polls and publishing results in the background."""
        self._task = asyncio.create_task(self._run(), name="polls")

    async def stop_loop(self) -> None:
        """Stop the background loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        await every("Polls", self.tick, TICK_S)

    async def tick(self) -> None:
        """One round: end polls whose window passed, publish results not yet published."""
        due = cast(list[str], await self.redis.zrangebyscore(CLOSING, "-inf", _now_ms()))
        for member in due:
            room_id, _, poll_id = member.partition(" ")
            k = PollKeys(room_id, poll_id)
            reply = await self.scripts.close(k, now=False)
            if reply.outcome == "unknown_poll":
                await self.redis.zrem(CLOSING, k.closing_member)
            elif reply.outcome in ("closed", "already"):
                await self._closed(room_id, poll_id, tell=reply.outcome == "closed")
        for room_id, poll_id in list(self._dirty):
            k = PollKeys(room_id, poll_id)
            if await self.redis.set(k.results_tick, "1", nx=True, px=RESULTS_PERIOD_MS):
                self._dirty.discard((room_id, poll_id))
                view = await self.view(room_id, poll_id)
                await self.publisher.publish(
                    room_id,
                    "poll_results",
                    {"poll_id": poll_id, "counts": view["counts"], "votes": view["votes"]},
                )


def _view(
    room_id: str, poll_id: str, raw: dict[str, str], counts: dict[str, str], now: int
) -> dict[str, Any]:
    answers = cast(list[str], orjson.loads(raw["answers"]))
    per_answer = [int(counts.get(str(i), 0)) for i in range(len(answers))]
    closes_at = int(raw.get("closes_at", 0))
    state = raw["state"]
    if state == "open" and now >= closes_at:
        state = "closed"  # its window passed; a process is about to say so
    return {
        "poll_id": poll_id,
        "room_id": room_id,
        "question": raw["question"],
        "answers": answers,
        "allow_change": raw["allow_change"] == "1",
        "window_s": int(raw["window_s"]),
        "state": state,
        "created_at_ms": int(raw["created_at"]),
        "opens_at_ms": int(raw.get("opens_at", 0)),
        "closes_at_ms": closes_at,
        "counts": per_answer,
        "votes": sum(per_answer),
    }
