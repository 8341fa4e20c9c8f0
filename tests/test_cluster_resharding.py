"""A room whose slot moves to another shard of the Redis Cluster (resharding, or a failover
that promotes another node): Redis ends the subscriptions to the room's channel itself. The
server must notice, subscribe again, and have its viewers resume from the room's history,
so that nobody misses a line. Without that, the room falls silent on that server while its
viewers' sockets stay open.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster

from server.app import create_app
from server.redis_client import connect
from server.room.keys import RoomKeys
from server.room.settings import RoomSettings
from server.room.subscriber import ShardedSubscriber
from server.settings import Settings
from stockkeeper.settings import StockSettings

from .room_helpers import Client, ask, close_code, events_until, of_type, token

pytestmark = pytest.mark.slow


async def _command(node: Redis, *args: object) -> Any:
    """A cluster command to one master (redis-py types no reply of these)."""
    return await node.execute_command(*args)  # type: ignore[no-untyped-call]


async def move_slot(cluster: RedisCluster, key: str, to: ClusterNode | None = None) -> ClusterNode:
    """Move ``key``'s slot and its keys to ``to`` (by default another master), as
    ``redis-cli --cluster reshard`` does; the master that held it."""
    await cluster.nodes_manager.initialize()  # the slot map as it is now
    slot = cluster.keyslot(key)
    source = cluster.get_node_from_key(key)
    assert source is not None
    target = to or next(n for n in cluster.get_primaries() if n.name != source.name)
    masters = {n.name: Redis(host=n.host, port=int(n.port)) for n in cluster.get_primaries()}
    try:
        src, dst = masters[source.name], masters[target.name]
        src_id = (await _command(src, "CLUSTER", "MYID")).decode()
        dst_id = (await _command(dst, "CLUSTER", "MYID")).decode()
        await _command(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        await _command(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        while keys := await _command(src, "CLUSTER", "GETKEYSINSLOT", slot, 100):
            await _command(src, "MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *keys)
        # The new owner first, then the old one (which then ends its subscriptions), then
        # the rest: the order redis-cli uses.
        for name in dict.fromkeys((target.name, source.name, *masters)):
            await _command(masters[name], "CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    finally:
        for client in masters.values():
            await client.aclose()
    return source


async def test_viewers_resume_and_miss_nothing_when_their_rooms_slot_moves(
    aiohttp_client: Any, cluster_app_settings: Settings, cluster_redis: RedisCluster
) -> None:
    quick = RoomSettings(batch_window_s=0.02, chat_min_interval_ms=0)
    client: Client = await aiohttp_client(
        create_app(dataclasses.replace(cluster_app_settings, room=quick))
    )
    watcher = await client.ws_connect("/rooms/moving/live", params={"token": token("wendy")})
    await events_until(watcher, of_type("snapshot"))
    poster = await client.ws_connect("/rooms/moving/live", params={"token": token("paul")})
    await events_until(poster, of_type("snapshot"))
    assert (await ask(poster, "chat", text="before the move"))["type"] == "chat_ack"
    [*_, seen] = await events_until(watcher, of_type("chat", text="before the move"))

    home = await move_slot(cluster_redis, RoomKeys("moving").channel)
    try:
        # A line posted as the slot moves lands in the room's history on the new shard.
        assert (await ask(poster, "chat", text="during the move"))["type"] == "chat_ack"
        # The server's subscription ended with the move: it tells its viewers to resume.
        assert await close_code(watcher) == 4001
        assert await close_code(poster) == 4001
        resumed = await client.ws_connect(
            "/rooms/moving/live", params={"token": token("wendy"), "since": seen["offset"]}
        )
        await events_until(resumed, of_type("chat", text="during the move"))
        poster = await client.ws_connect("/rooms/moving/live", params={"token": token("paul")})
        await events_until(poster, of_type("snapshot"))
        # Lines posted after the move reach the resumed viewer, live, from the new shard.
        for n in range(3):
            text = f"after the move {n}"
            assert (await ask(poster, "chat", text=text))["type"] == "chat_ack"
            await events_until(resumed, of_type("chat", text=text))
        await resumed.close()
        await poster.close()
    finally:
        await move_slot(cluster_redis, RoomKeys("moving").channel, to=home)


async def test_a_room_left_and_joined_again_at_once_is_not_taken_for_a_moved_slot(
    redis: Redis, stock_settings: StockSettings
) -> None:
    """The confirmation of an unsubscription this process asked for is not Redis ending the
    subscription itself, even when the room was subscribed to again before it arrived."""
    rooms_client = connect(stock_settings.redis_url, decode=False)  # as the hub's
    subscriber = ShardedSubscriber(rooms_client)
    channel = RoomKeys("come-and-go").channel
    try:
        for _ in range(3):
            await subscriber.subscribe(channel)
            await subscriber.unsubscribe(channel)
        await subscriber.subscribe(channel)
        await _command(redis, "SPUBLISH", channel, b"still here")
        message = await subscriber.get_message(wait_s=5.0)  # raises SubscriptionLost if taken
        assert message is not None
        assert message["data"] == b"still here"
    finally:
        await subscriber.aclose()
        await rooms_client.aclose()
