"""A process's list of the viewers banned from each room (server/room/bans.py), on the real
Redis: what a rush of presses costs it, and what an unreachable Redis answers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from deploy.stack import RedisServer
from server.redis_client import connect
from server.room.bans import BanList
from server.room.keys import RoomKeys
from stockkeeper.errors import StockUnavailable


async def test_a_rush_that_finds_the_list_stale_reads_it_once(redis: Redis) -> None:
    await redis.sadd(RoomKeys("show-1").banned, "frank")
    bans = BanList(redis, refresh_s=0)
    reads = 0
    smembers = redis.smembers

    def counted(key: str) -> Any:
        nonlocal reads
        reads += 1
        return smembers(key)

    redis.smembers = counted  # type: ignore[method-assign,assignment]
    try:
        answers = await asyncio.gather(
            *(bans.is_banned("show-1", f"viewer-{n}") for n in range(50)),
            bans.is_banned("show-1", "frank"),
        )
    finally:
        del redis.smembers
    assert answers == [False] * 50 + [True]
    assert reads == 1


@pytest.mark.slow
async def test_an_unreachable_redis_is_the_retriable_stock_unavailable(
    redis_server: RedisServer,
) -> None:
    client = connect(redis_server.url)
    try:
        bans = BanList(client)
        await asyncio.to_thread(redis_server.stop)
        with pytest.raises(StockUnavailable):
            await bans.is_banned("show-1", "ann")
    finally:
        await client.aclose()
