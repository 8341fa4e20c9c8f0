"""The bucket scripts of a hot offer and the rooms' scripts, called on the real Redis
through their typed wrappers and the repository's one Lua loader; and the loader itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources
from typing import cast

import pytest
from redis.asyncio import Redis

from server.redis_client import connect
from server.room.events import from_published, pack_data
from server.room.keys import RoomKeys
from server.room.publisher import ROOM_LUA
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.scripts.buckets import bucket_give, bucket_settle, bucket_sync, bucket_take
from stockkeeper.scripts.loader import LuaFolder
from stockkeeper.scripts.offers import offer_transition
from stockkeeper.scripts.registry import STOCK_LUA, Scripts
from stockkeeper.settings import StockSettings

from .helpers import assert_consistent
from .script_helpers import OFFER, draft, held, live

GIVER, TRANSFER = f"{OFFER}.1", "1700000000000-00000000000000aa"


@pytest.fixture
def scripts(keeper: StockKeeper) -> Scripts:
    """The stock scripts, registered and loaded by a started keeper."""
    return keeper.scripts


@pytest.fixture
async def raw_redis(redis: Redis, stock_settings: StockSettings) -> AsyncIterator[Redis]:
    """The flushed test database through a client that returns bytes (room events are
    msgpack), as the rooms use it."""
    client = connect(stock_settings.redis_url, decode=False)
    yield client
    await client.aclose()


async def hot_offer(scripts: Scripts, giver_stock: int = 4, **overrides: object) -> None:
    """Offer 7 with 2 units in bucket 0 and ``giver_stock`` in bucket 1, both on sale."""
    await live(scripts, OFFER, stock=2, buckets=2, **overrides)
    await live(scripts, GIVER, stock=giver_stock, buckets=2, **overrides)


# ------------------------------------------------------------------ bucket_give


async def test_bucket_give_takes_units_off_sale_and_writes_the_transfer_down(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts)
    given = await bucket_give(scripts, GIVER, TRANSFER, 3, OFFER)
    assert (given.outcome, given.units) == ("given", 3)
    g = OfferKeys(GIVER)
    assert await redis.hmget(g.offer, "available", "total", "sent_pending") == ["1", "1", "3"]
    assert await redis.hgetall(g.transfers) == {TRANSFER: f"{OFFER} 3"}


async def test_bucket_give_gives_at_most_what_it_has_then_answers_empty(
    scripts: Scripts,
) -> None:
    await hot_offer(scripts, giver_stock=2)
    assert (await bucket_give(scripts, GIVER, "t-1", 5, OFFER)).units == 2
    empty = await bucket_give(scripts, GIVER, "t-2", 1, OFFER)
    assert (empty.outcome, empty.units) == ("empty", 0)


async def test_bucket_give_takes_lapsed_holds_back_before_answering_empty(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts, giver_stock=1, hold_seconds=0)
    await held(scripts, "u1", offer_id=GIVER)
    given = await bucket_give(scripts, GIVER, TRANSFER, 1, OFFER)
    assert (given.outcome, given.units) == ("given", 1)
    assert await redis.hget(OfferKeys(GIVER).offer, "held") == "0"


async def test_bucket_give_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await bucket_give(scripts, "404.1", TRANSFER, 1, "404")).outcome == "unknown_offer"


# ------------------------------------------------------- bucket_take and bucket_settle


async def test_bucket_take_adds_a_transfer_to_the_receiver_once(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts)
    await bucket_give(scripts, GIVER, TRANSFER, 3, OFFER)
    taken = await bucket_take(scripts, OFFER, TRANSFER, 3)
    assert (taken.outcome, taken.available) == ("taken", 5)
    again = await bucket_take(scripts, OFFER, TRANSFER, 3)
    assert (again.outcome, again.available) == ("already_taken", 5)
    assert await redis.hget(OfferKeys(OFFER).offer, "total") == "5"


async def test_bucket_settle_crosses_a_taken_transfer_off_once(
    scripts: Scripts, redis: Redis
) -> None:
    await hot_offer(scripts)
    await bucket_give(scripts, GIVER, TRANSFER, 3, OFFER)
    await bucket_take(scripts, OFFER, TRANSFER, 3)
    assert await bucket_settle(scripts, GIVER, TRANSFER) == 3
    assert await bucket_settle(scripts, GIVER, TRANSFER) == 0
    g = OfferKeys(GIVER)
    assert await redis.hget(g.offer, "sent_pending") == "0"
    assert await redis.hgetall(g.transfers) == {}
    assert await assert_consistent(redis, OFFER) == {
        "total": 6,
        "available": 6,
        "held": 0,
        "sold": 0,
    }


# ------------------------------------------------------------------ bucket_sync


async def test_bucket_sync_gives_a_bucket_the_offers_state_and_window(
    scripts: Scripts, redis: Redis
) -> None:
    await draft(scripts, GIVER)
    synced = await bucket_sync(scripts, GIVER, "open", 1000, 2000)
    assert (synced.outcome, synced.state) == ("ok", "open")
    row = await redis.hmget(OfferKeys(GIVER).offer, "state", "opens_at", "closes_at")
    assert row == ["open", "1000", "2000"]


async def test_bucket_sync_never_reopens_a_closed_bucket(scripts: Scripts) -> None:
    await live(scripts, GIVER)
    await offer_transition(scripts, GIVER, "close")
    synced = await bucket_sync(scripts, GIVER, "open", 1000, 2000)
    assert (synced.outcome, synced.state) == ("ok", "closed")


async def test_bucket_sync_answers_unknown_offer(scripts: Scripts) -> None:
    assert (await bucket_sync(scripts, "404.1", "open", 1, 2)).outcome == "unknown_offer"


# ------------------------------------------------------------------ the loader


def lua_files(folder: LuaFolder) -> list[str]:
    path = resources.files(folder.package)
    if folder.folder:
        path = path.joinpath(folder.folder)
    return sorted(f.name[:-4] for f in path.iterdir() if f.name.endswith(".lua"))


@pytest.mark.parametrize(
    ("folder", "name"),
    [(STOCK_LUA, n) for n in lua_files(STOCK_LUA) if n != STOCK_LUA.prelude]
    + [(ROOM_LUA, n) for n in lua_files(ROOM_LUA)],
)
def test_every_script_starts_with_its_keys_arguments_and_replies(
    folder: LuaFolder, name: str
) -> None:
    header = "\n".join(line for line in folder.read(name).splitlines() if line.startswith("--"))
    assert folder.read(name).startswith("--")
    for word in ("KEYS[1]", "ARGV[1]", "Returns"):
        assert word in header, f"{name}.lua does not say {word}"


def test_the_stock_scripts_carry_the_shared_prelude_and_the_rooms_none() -> None:
    source = STOCK_LUA.source("hold_cancel")
    assert source.startswith(STOCK_LUA.read("lib"))
    assert source.endswith(STOCK_LUA.read("hold_cancel"))
    assert ROOM_LUA.source("room_publish") == ROOM_LUA.read("room_publish")


async def test_a_started_keeper_has_loaded_every_stock_script(
    scripts: Scripts, redis: Redis
) -> None:
    shas = [script.sha for script in scripts.all()]
    assert len(shas) == len(lua_files(STOCK_LUA)) - 1  # all but the prelude
    assert await redis.script_exists(*shas) == [True] * len(shas)


# ------------------------------------------------------------------ room scripts


async def entries(raw_redis: Redis) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every event kept in room-1's history."""
    return cast(
        list[tuple[bytes, dict[bytes, bytes]]], await raw_redis.xrange(RoomKeys("room-1").events)
    )


async def test_room_publish_appends_the_event_and_publishes_it_on_the_room_channel(
    raw_redis: Redis,
) -> None:
    k = RoomKeys("room-1")
    publish = ROOM_LUA.register(raw_redis, "room_publish")
    pubsub = raw_redis.pubsub()
    await pubsub.ssubscribe(k.channel)
    try:
        data = pack_data({"offer_id": OFFER})
        offset = (
            await publish(keys=[k.events], args=[k.channel, 100, "stock", data, "u1"])
        ).decode()
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


async def chat(raw_redis: Redis, user: str, min_interval_ms: int = 0) -> list[object]:
    """room_chat.lua's reply to ``user`` posting in room-1."""
    k = RoomKeys("room-1")
    script = ROOM_LUA.register(raw_redis, "room_chat")
    text = pack_data({"user_id": user, "text": "hi"})
    reply = await script(
        keys=[k.events, k.banned, k.muted, k.last_chat, k.state, k.chat_minutes],
        args=[k.channel, 100, user, text, min_interval_ms],
    )
    return [part.decode() if isinstance(part, bytes) else part for part in reply]


async def test_room_chat_posts_a_message_as_a_room_event(raw_redis: Redis) -> None:
    outcome, offset = await chat(raw_redis, "u1")
    assert outcome == "posted"
    [(entry_id, fields)] = await entries(raw_redis)
    assert (entry_id.decode(), fields[b"t"], fields[b"u"]) == (offset, b"chat", b"")


async def test_room_chat_refuses_banned_and_muted_viewers(raw_redis: Redis) -> None:
    k = RoomKeys("room-1")
    await raw_redis.sadd(k.banned, "u1")
    await raw_redis.sadd(k.muted, "u2")
    assert await chat(raw_redis, "u1") == ["banned"]
    assert await chat(raw_redis, "u2") == ["muted"]
    assert await raw_redis.xlen(k.events) == 0


async def test_room_chat_answers_slow_mode_and_rate_limited_with_the_wait(
    raw_redis: Redis,
) -> None:
    assert (await chat(raw_redis, "u1", min_interval_ms=60_000))[0] == "posted"
    outcome, wait_ms = await chat(raw_redis, "u1", min_interval_ms=60_000)
    assert outcome == "rate_limited"
    assert 0 < int(str(wait_ms)) <= 60_000
    await raw_redis.hset(RoomKeys("room-1").state, "slow_mode_s", 30)
    outcome, wait_ms = await chat(raw_redis, "u1")
    assert outcome == "slow_mode"
    assert 0 < int(str(wait_ms)) <= 30_000
