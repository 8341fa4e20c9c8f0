"""Typed wrappers of the rooms' two Lua scripts (scripts/room_publish.lua, room_chat.lua).

Each sends the room's keys in KEYS and decodes the reply; nothing else reads a room
script's reply. The scripts are loaded by the repository's one loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from stockkeeper.scripts.loader import LuaFolder, preload

from .keys import RoomKeys

ROOM_LUA = LuaFolder("server.room", "scripts")

ChatOutcome = Literal["posted", "banned", "muted", "slow_mode", "rate_limited"]


@dataclass(frozen=True, slots=True)
class ChatReply:
    """room_chat.lua's answer: the new message's offset, or why the room refused it."""

    outcome: ChatOutcome
    offset: str = ""
    retry_after_ms: int = 0


class RoomScripts:
    """The room scripts registered on one Redis client (one that returns bytes)."""

    def __init__(self, redis: Redis) -> None:
        self._publish = ROOM_LUA.register(redis, "room_publish")
        self._chat = ROOM_LUA.register(redis, "room_chat")

    async def preload(self, redis: Redis) -> None:
        """Load both scripts now, so the first event of a show does not wait for it."""
        await preload(redis, (self._publish, self._chat))

    async def publish(
        self,
        keys: RoomKeys,
        history_length: int,
        type_: str,
        data: bytes,
        to_user: str = "",
        pipe: Pipeline | None = None,
    ) -> str:
        """Append an event to the room's history and publish it; its offset ("" when
        queued on ``pipe``, whose reply is the offset as bytes)."""
        offset = await self._publish(
            keys=[keys.events],
            args=[keys.channel, history_length, type_, data, to_user],
            client=pipe,
        )
        return "" if pipe is not None else cast(bytes, offset).decode()

    async def chat(
        self, keys: RoomKeys, history_length: int, user_id: str, data: bytes, min_interval_ms: int
    ) -> ChatReply:
        """Post a chat message if the room's rules allow it."""
        reply = await self._chat(
            keys=[
                keys.events,
                keys.banned,
                keys.muted,
                keys.last_chat,
                keys.state,
                keys.chat_minutes,
            ],
            args=[keys.channel, history_length, user_id, data, min_interval_ms],
        )
        outcome = cast(ChatOutcome, reply[0].decode())
        match outcome:
            case "posted":
                return ChatReply(outcome, offset=cast(bytes, reply[1]).decode())
            case "slow_mode" | "rate_limited":
                return ChatReply(outcome, retry_after_ms=int(reply[1]))
            case "banned" | "muted":
                return ChatReply(outcome)
        raise ValueError(f"room_chat.lua answered {reply!r}")
