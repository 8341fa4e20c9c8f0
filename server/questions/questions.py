"""A room's questions: chat messages viewers marked as questions (counted once per viewer),
listed for the host by how many asked, and the one the host pinned with an answer.

The room hears of a question at its first mark, then of its count at most once a second:
a process that took more marks keeps the question on its list until it wins the question's
tick (SET NX PX) and publishes the count it reads then, so the last mark is always told."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, cast

import msgpack
import orjson
from redis.asyncio import Redis

from stockkeeper.scripts.loader import LuaFolder

from ..errors import ErrorCode, Invalid, NotFound
from ..loops import every
from ..room.keys import RoomKeys
from ..room.publisher import OFFSET, RoomPublisher
from ..shows.store import Show
from .keys import QuestionKeys

log = logging.getLogger(__name__)

QUESTIONS_LUA = LuaFolder("server.questions", "scripts")
#: The most questions the host's list shows (most asked first).
LISTED = 200
#: The room hears of more marks on one question at most this often (the first at once).
MARKS_PERIOD_MS = 1000
#: How often each process tells the room of marks it took.
TICK_S = 0.2

MarkOutcome = Literal["new", "more", "already"]


@dataclass(frozen=True, slots=True)
class Marked:
    """question_mark.lua's answer: whether this mark was the first, and the marks now."""

    outcome: MarkOutcome
    marks: int


def _now_ms() -> int:
    return int(time.time() * 1000)


def _offset(message_offset: str) -> str:
    if not OFFSET.match(message_offset):
        raise Invalid(ErrorCode.INVALID_OFFSET, "Messages are named by their offset, e.g. 1700-0.")
    return message_offset


class Questions:
    """Every room's questions. ``redis`` decodes answers; the publisher's client (bytes)
    reads the chat message being marked from the room's history."""

    def __init__(self, redis: Redis, publisher: RoomPublisher) -> None:
        self.redis = redis
        self.publisher = publisher
        self._mark = QUESTIONS_LUA.register(redis, "question_mark")
        #: Questions this process took marks for that the room has not been told of yet.
        self._dirty: set[tuple[str, str]] = set()
        self._task: asyncio.Task[None] | None = None
        self._answer = QUESTIONS_LUA.register(redis, "question_answer")

    async def mark(self, room_id: str, message_offset: str, user_id: str) -> dict[str, Any]:
        """Mark the chat message at ``message_offset`` as a question (once per viewer); the
        room gets ``question_marked`` when the count grows."""
        offset = _offset(message_offset)
        message = await self._chat_message(room_id, offset)
        k = QuestionKeys(room_id)
        question = {**message, "message_offset": offset, "asked_at_ms": _now_ms()}
        reply = await self._mark(
            keys=[k.questions, k.marks, k.markers(offset), k.order],
            args=[offset, orjson.dumps(question), user_id, _now_ms()],
        )
        marked = Marked(cast(MarkOutcome, reply[0]), int(reply[1]))
        if marked.outcome == "new":
            await self.redis.set(k.marks_tick(offset), "1", px=MARKS_PERIOD_MS)
            await self._tell(room_id, offset, marked.marks, message)
        elif marked.outcome == "more":
            self._dirty.add((room_id, offset))
        return {"message_offset": offset, "outcome": marked.outcome, "marks": marked.marks}

    async def _tell(self, room_id: str, offset: str, marks: int, message: dict[str, Any]) -> None:
        await self.publisher.publish(
            room_id,
            "question_marked",
            {
                "message_offset": offset,
                "marks": marks,
                "name": message["name"],
                "text": message["text"],
            },
        )

    async def tick(self) -> None:
        """Tell the room the marks this process took since, once per question per period
        (``MARKS_PERIOD_MS``): a popular question does not flood the room with events."""
        for room_id, offset in list(self._dirty):
            k = QuestionKeys(room_id)
            if not await self.redis.set(k.marks_tick(offset), "1", nx=True, px=MARKS_PERIOD_MS):
                continue
            self._dirty.discard((room_id, offset))
            pipe = self.redis.pipeline(transaction=False)
            pipe.hget(k.questions, offset)
            pipe.hget(k.marks, offset)
            raw, marks = await pipe.execute()
            if raw is not None:
                await self._tell(room_id, offset, int(marks or 0), orjson.loads(raw))

    async def start_loop(self) -> None:
        """Start telling the room of new marks in the background."""
        self._task = asyncio.create_task(self._run(), name="questions")

    async def stop_loop(self) -> None:
        """Stop the background loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        await every("Questions", self.tick, TICK_S)

    async def _chat_message(self, room_id: str, offset: str) -> dict[str, Any]:
        """The chat message at ``offset``, still in the room's history and not deleted."""
        events = RoomKeys(room_id).events
        redis = self.publisher.redis
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await redis.xrange(events, min=offset, max=offset),
        )
        if not entries or entries[0][1].get(b"t") != b"chat":
            raise NotFound(ErrorCode.UNKNOWN_MESSAGE, "There is no chat message at this offset.")
        data = msgpack.unpackb(entries[0][1][b"d"], raw=False)
        # Removed by the host since: a deletion comes after the message in the history.
        later = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await redis.xrange(events, min=f"({offset}", max="+"),
        )
        for _, fields in later:
            if fields.get(b"t") == b"chat_deleted":
                deleted = msgpack.unpackb(fields[b"d"], raw=False)
                if deleted.get("message_offset") == offset:
                    raise NotFound(ErrorCode.UNKNOWN_MESSAGE, "The host removed this message.")
        return {"user_id": data["user_id"], "name": data["name"], "text": data["text"]}

    async def answer(self, room_id: str, message_offset: str, answer: str) -> dict[str, Any]:
        """Answer a question and pin it; the room gets ``question_answered``."""
        offset = _offset(message_offset)
        k = QuestionKeys(room_id)
        given = {"answer": answer, "answered_at_ms": _now_ms()}
        outcome = await self._answer(
            keys=[k.questions, k.answers, k.pinned], args=[offset, orjson.dumps(given)]
        )
        if outcome == "unknown_question":
            raise NotFound(
                ErrorCode.UNKNOWN_QUESTION, "No viewer marked this message as a question."
            )
        [question] = await self._views(room_id, [offset])
        await self.publisher.publish(room_id, "question_answered", {"question": question})
        return question

    async def unpin(self, room_id: str) -> None:
        """Take the pinned question off viewers' screens (its answer stays in the list)."""
        await self.redis.delete(QuestionKeys(room_id).pinned)
        await self.publisher.publish(room_id, "question_unpinned", {})

    async def pinned(self, room_id: str) -> dict[str, Any] | None:
        """The pinned question with its answer, if any."""
        offset = cast(str | None, await self.redis.get(QuestionKeys(room_id).pinned))
        if offset is None:
            return None
        views = await self._views(room_id, [offset])
        return views[0] if views else None

    async def of_room(self, room_id: str) -> list[dict[str, Any]]:
        """The room's questions, most marked first, then oldest first."""
        k = QuestionKeys(room_id)
        offsets = cast(list[str], await self.redis.zrange(k.order, 0, -1))
        views = await self._views(room_id, offsets)
        views.sort(key=lambda q: (-q["marks"], q["asked_at_ms"]))
        return views[:LISTED]

    async def _views(self, room_id: str, offsets: list[str]) -> list[dict[str, Any]]:
        if not offsets:
            return []
        k = QuestionKeys(room_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(k.questions, offsets)
        pipe.hmget(k.marks, offsets)
        pipe.hmget(k.answers, offsets)
        pipe.get(k.pinned)
        questions, marks, answers, pinned = await pipe.execute()
        views = []
        for offset, raw, count, given in zip(offsets, questions, marks, answers, strict=True):
            if raw is None:
                continue
            answer = orjson.loads(given) if given else None
            views.append(
                {
                    **orjson.loads(raw),
                    "marks": int(count or 0),
                    "answer": answer["answer"] if answer else None,
                    "answered_at_ms": answer["answered_at_ms"] if answer else None,
                    "pinned": offset == pinned,
                }
            )
        return views

    async def report_section(self, show: Show) -> dict[str, Any]:
        """The show report's ``questions`` section: every question, its marks and answer."""
        questions = await self.of_room(show.room_id)
        return {
            "questions": questions,
            "asked": len(questions),
            "answered": sum(q["answer"] is not None for q in questions),
        }
