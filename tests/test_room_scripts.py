"""The rooms' two scripts through their typed wrappers, on the real Redis: an event is kept
and published in one step, and chat follows the room's rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import pytest
from redis.asyncio import Redis

from server.redis_client import connect
from server.room.events import from_published, pack_data
from server.room.keys import RoomKeys
from server.room.room_scripts import ChatReply, RoomScripts
from stockkeeper.settings import StockSettings

OFFER = "7"


@pytest.fixture
async def raw_redis(redis: Redis, stock_settings: StockSettings) -> AsyncIterator[Redis]:
    """The flushed test database through a client that returns bytes (room events are
    msgpack), as the rooms use it."""
    client = connect(stock_settings.redis_url, decode=False)
    yield client
    await client.aclose()


async def entries(raw_redis: Redis) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every event kept in room-1's history."""
    return cast(
        list[tuple[bytes, dict[bytes, bytes]]], await raw_redis.xrange(RoomKeys("room-1").events)
    )


async def test_room_publish_appends_the_event_and_publishes_it_on_the_room_channel(
    raw_redis: Redis,
) -> None:
    k = RoomKeys("room-1")
    pubsub = raw_redis.pubsub()
    await pubsub.ssubscribe(k.channel)
    try:
        data = pack_data({"offer_id": OFFER})
        offset = await RoomScripts(raw_redis).publish(k, 100, "stock", data, "u1")
        [(entry_id, fields)] = await entries(raw_redis)
        assert entry_id.decode() == offset
        assert (fields[b"t"], fields[b"d"], fields[b"u"]) == (b"stock", data, b"u1")
        message = None
        while message is None or message["type"] != "smessage":
            message = await pubsub.get_message(timeout=2.0)
        event = from_published(message["data"])
        assert (event.offset, event.type, event.to_user) == (offset, "stock", "u1")
        assert event.data == {"offer_id": OFFER}
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def chat(raw_redis: Redis, user: str, min_interval_ms: int = 0) -> ChatReply:
    """room_chat.lua's reply to ``user`` posting in room-1."""
    text = pack_data({"user_id": user, "text": "hi"})
    return await RoomScripts(raw_redis).chat(RoomKeys("room-1"), 100, user, text, min_interval_ms)


async def test_room_chat_posts_a_message_as_a_room_event(raw_redis: Redis) -> None:
    reply = await chat(raw_redis, "u1")
    assert reply.outcome == "posted"
    [(entry_id, fields)] = await entries(raw_redis)
    assert (entry_id.decode(), fields[b"t"], fields[b"u"]) == (reply.offset, b"chat", b"")


async def test_room_chat_refuses_banned_and_muted_viewers(raw_redis: Redis) -> None:
    k = RoomKeys("room-1")
    await raw_redis.sadd(k.banned, "u1")
    await raw_redis.sadd(k.muted, "u2")
    assert await chat(raw_redis, "u1") == ChatReply("banned")
    assert await chat(raw_redis, "u2") == ChatReply("muted")
    assert await raw_redis.xlen(k.events) == 0


async def test_room_chat_answers_slow_mode_and_rate_limited_with_the_wait(
    raw_redis: Redis,
) -> None:
    assert (await chat(raw_redis, "u1", min_interval_ms=60_000)).outcome == "posted"
    limited = await chat(raw_redis, "u1", min_interval_ms=60_000)
    assert limited.outcome == "rate_limited"
    assert 0 < limited.retry_after_ms <= 60_000
    await raw_redis.hset(RoomKeys("room-1").state, "slow_mode_s", 30)
    slowed = await chat(raw_redis, "u1")
    assert slowed.outcome == "slow_mode"
    assert 0 < slowed.retry_after_ms <= 30_000
