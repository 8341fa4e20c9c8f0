"""Typed wrappers of the polls' Lua scripts (scripts/poll_vote.lua, poll_open.lua,
poll_close.lua): each sends one poll's keys in KEYS and decodes the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis

from stockkeeper.scripts.loader import LuaFolder

from .keys import PollKeys

POLLS_LUA = LuaFolder("server.polls", "scripts")

VoteOutcome = Literal[
    "voted",
    "changed",
    "unchanged",
    "already_voted",
    "unknown_poll",
    "not_open",
    "closed",
    "unknown_answer",
]
OpenOutcome = Literal["opened", "unknown_poll", "invalid_state"]
CloseOutcome = Literal["closed", "already", "still_open", "unknown_poll"]


@dataclass(frozen=True, slots=True)
class VoteReply:
    """poll_vote.lua's answer: what happened, the viewer's earlier answer (-1: none) and
    the votes for each answer after it."""

    outcome: VoteOutcome
    previous: int
    counts: list[int]


@dataclass(frozen=True, slots=True)
class OpenReply:
    """poll_open.lua's answer: the window it opened, or why not (``state``)."""

    outcome: OpenOutcome
    opens_at_ms: int = 0
    closes_at_ms: int = 0
    state: str = ""


@dataclass(frozen=True, slots=True)
class CloseReply:
    """poll_close.lua's answer: whether this call ended the poll, and when it ends."""

    outcome: CloseOutcome
    closes_at_ms: int = 0


class PollScripts:
    """The poll scripts registered on one Redis client (one that decodes answers)."""

    def __init__(self, redis: Redis) -> None:
        self._vote = POLLS_LUA.register(redis, "poll_vote")
        self._open = POLLS_LUA.register(redis, "poll_open")
        self._close = POLLS_LUA.register(redis, "poll_close")

    async def vote(self, keys: PollKeys, user_id: str, answer: int) -> VoteReply:
        """Record ``user_id``'s vote for ``answer`` if the poll allows it."""
        reply = await self._vote(keys=[keys.poll, keys.votes, keys.counts], args=[user_id, answer])
        return VoteReply(
            cast(VoteOutcome, reply[0]), int(reply[1]), [int(count) for count in reply[2:]]
        )

    async def open(self, keys: PollKeys) -> OpenReply:
        """Start a draft poll now, for its window."""
        reply = await self._open(keys=[keys.poll])
        outcome = cast(OpenOutcome, reply[0])
        if outcome == "opened":
            return OpenReply(outcome, int(reply[1]), int(reply[2]))
        return OpenReply(outcome, state=str(reply[1]) if len(reply) > 1 else "")

    async def close(self, keys: PollKeys, now: bool) -> CloseReply:
        """End the poll now (``now``), or only if its window has passed."""
        reply = await self._close(keys=[keys.poll], args=["1" if now else "0"])
        outcome = cast(CloseOutcome, reply[0])
        return CloseReply(outcome, int(reply[1]) if len(reply) > 1 else 0)
