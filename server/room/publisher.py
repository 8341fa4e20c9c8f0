"""Writes to rooms: events, chat with its rules, moderation, and reads of history."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from ..errors import ErrorCode, Forbidden, RateLimited
from ..plain_text import without_bidi_controls, without_bidi_controls_in
from .events import RoomEvent, from_history, offset_key, pack_data
from .keys import RoomKeys
from .room_scripts import RoomScripts
from .settings import RoomSettings

OFFSET = re.compile(r"^\d{1,15}-\d{1,10}$")


@dataclass(frozen=True, slots=True)
class History:
    """Events after an offset, or None when the offset is older than the kept history."""

    events: list[RoomEvent] | None
    latest_offset: str


class RoomPublisher:
    """One per process, over a Redis client that returns bytes (events are msgpack).

    Every string viewers will be shown (chat, names, announcements, titles) loses its
    bidirectional controls on the way in (server/plain_text.py)."""

    def __init__(self, redis: Redis, settings: RoomSettings) -> None:
        self.redis = redis
        self.settings = settings
        self.scripts = RoomScripts(redis)

    async def publish(
        self, room_id: str, type_: str, data: dict[str, Any], to_user: str = ""
    ) -> str:
        """Append an event to the room's history and send it to every viewer."""
        return await self.scripts.publish(
            RoomKeys(room_id),
            self.settings.history_length,
            type_,
            pack_data(without_bidi_controls_in(data)),
            to_user,
        )

    async def publish_many(self, events: list[tuple[str, str, dict[str, Any], str]]) -> None:
        """Publish (room id, type, data, only for this user or "") events in one pipeline,
        e.g. the purchase news of a rush of confirms."""
        if isinstance(self.redis, RedisCluster):
            # Cluster pipelines refuse scripts: each event goes to its room's shard.
            await asyncio.gather(
                *(
                    self.publish(room_id, type_, data, to_user)
                    for room_id, type_, data, to_user in events
                )
            )
            return
        pipe = self.redis.pipeline(transaction=False)
        for room_id, type_, data, to_user in events:
            await self.scripts.publish(
                RoomKeys(room_id),
                self.settings.history_length,
                type_,
                pack_data(without_bidi_controls_in(data)),
                to_user,
                pipe=pipe,
            )
        await pipe.execute()

    async def chat(self, room_id: str, user_id: str, name: str, text: str) -> str:
        """Post a chat message; raises Forbidden or RateLimited when the room's rules refuse it."""
        # Names come from viewer tokens, text from viewers: neither may turn text around.
        name, text = without_bidi_controls(name), without_bidi_controls(text)
        reply = await self.scripts.chat(
            RoomKeys(room_id),
            self.settings.history_length,
            user_id,
            pack_data({"user_id": user_id, "name": name, "text": text}),
            self.settings.chat_min_interval_ms,
        )
        match reply.outcome:
            case "posted":
                return reply.offset
            case "banned":
                raise Forbidden(ErrorCode.BANNED, "You have been removed from this room's chat.")
            case "muted":
                raise Forbidden(ErrorCode.MUTED, "The host has muted you in this room.")
            case "slow_mode":
                raise RateLimited(
                    ErrorCode.SLOW_MODE,
                    "Slow mode is on: wait a little before your next message.",
                    retry_after_ms=reply.retry_after_ms,
                )
        raise RateLimited(
            ErrorCode.RATE_LIMITED,
            "You are sending messages too fast.",
            retry_after_ms=reply.retry_after_ms,
        )

    async def history_after(self, room_id: str, offset: str) -> History:
        """What a viewer who last saw ``offset`` missed, if the room still keeps it."""
        k = RoomKeys(room_id)
        latest = await self.latest_offset(room_id)
        if not OFFSET.match(offset) or offset_key(offset) > offset_key(latest):
            return History(None, latest)
        if latest != "0-0":
            info = await self.redis.xinfo_stream(k.events)
            first = info.get("recorded-first-entry-id", b"0-0")
            first = first.decode() if isinstance(first, bytes) else str(first)
            # Trimming leaves no trace of what it removed: an offset older than the first
            # entry kept may have missed trimmed events, so it gets a snapshot.
            trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
            if trimmed and offset_key(offset) < offset_key(first):
                return History(None, latest)
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self.redis.xrange(k.events, min=f"({offset}", max="+"),
        )
        return History([from_history(i, f) for i, f in entries], latest)

    async def latest_offset(self, room_id: str) -> str:
        """The offset of the room's latest event ("0-0" for none)."""
        last = await self.redis.xrevrange(RoomKeys(room_id).events, count=1)
        if not last:
            return "0-0"
        entry_id = last[0][0]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def state(self, room_id: str) -> dict[str, str]:
        """The room's pinned message, pinned offer and slow mode."""
        raw = cast(dict[bytes, bytes], await self.redis.hgetall(RoomKeys(room_id).state))
        return {key.decode(): value.decode() for key, value in raw.items()}

    async def blocked_words(self, room_id: str) -> set[str]:
        """The words the host blocked in the room's chat."""
        words = cast(set[bytes], await self.redis.smembers(RoomKeys(room_id).blocked_words))
        return {w.decode() for w in words}

    # ------------------------------------------------------------------ moderation

    async def set_state(self, room_id: str, type_: str, **fields: Any) -> str:
        """Store room state fields and announce the change as one event."""
        fields = without_bidi_controls_in(fields)
        await self.redis.hset(
            RoomKeys(room_id).state,
            mapping={key: str(value) for key, value in fields.items()},
        )
        return await self.publish(room_id, type_, fields)

    async def mute(self, room_id: str, user_id: str, muted: bool) -> str:
        """Mute or unmute a viewer in the room's chat, and say so."""
        k = RoomKeys(room_id)
        if muted:
            await self.redis.sadd(k.muted, user_id)
        else:
            await self.redis.srem(k.muted, user_id)
        return await self.publish(room_id, "user_muted", {"user_id": user_id, "muted": muted})

    async def ban(self, room_id: str, user_id: str) -> str:
        """Ban a viewer from the room, and say so (their sockets close)."""
        await self.redis.sadd(RoomKeys(room_id).banned, user_id)
        return await self.publish(room_id, "user_banned", {"user_id": user_id})

    async def set_blocked_words(self, room_id: str, words: list[str]) -> str:
        """Replace the room's blocked words."""
        k = RoomKeys(room_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(k.blocked_words)
        if words:
            pipe.sadd(k.blocked_words, *words)
        await pipe.execute()
        # Viewers are not told the list; servers reload it on this event.
        return await self.publish(room_id, "blocked_words_changed", {"count": len(words)})
