"""A room whose slot moves to another shard of the Redis Cluster (resharding, or a failover
that promotes another node): Redis ends the subscriptions to the room's channel itself. The
server must notice, subscribe again, and have its viewers resume from the room's history,
so that nobody misses a line. Without that, the room falls silent on that server while its
viewers' sockets stay open.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import ResponseError

from server.app import create_app
from server.appkeys import ROOM_PUBLISHER
from server.room.keys import RoomKeys
from server.room.settings import RoomSettings
from server.settings import Settings

from .room_helpers import Client, ask, close_code, events_until, of_type, send, token

pytestmark = pytest.mark.slow


async def _command(node: Redis, *args: object) -> Any:
    """A cluster command to one master (redis-py types no reply of these)."""
    return await node.execute_command(*args)  # type: ignore[no-untyped-call]


async def _owner(masters: dict[str, Redis], key: str) -> str:
    """The master that serves ``key`` now, by asking each (a client's slot map, and a node's
    view of the others, can lag behind a move)."""
    for name, node in masters.items():
        try:
            await node.exists(key)
        except ResponseError:  # MOVED: not this one
            continue
        return name
    raise AssertionError(f"No master serves {key}")


async def move_slot(cluster: RedisCluster, key: str, to: ClusterNode | None = None) -> ClusterNode:
    """Move ``key``'s slot and its keys to ``to`` (by default another master), as
    ``redis-cli --cluster reshard`` does; the master that held it."""
    slot = cluster.keyslot(key)
    primaries = {n.name: n for n in cluster.get_primaries()}
    masters = {name: Redis(host=n.host, port=int(n.port)) for name, n in primaries.items()}
    source = primaries[await _owner(masters, key)]
    target = to or next(n for n in primaries.values() if n.name != source.name)
    src, dst = masters[source.name], masters[target.name]
    try:
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
    except BaseException:
        # Never leave the shared cluster's slot half-moved for the tests after this one.
        for node in (src, dst):
            await _command(node, "CLUSTER", "SETSLOT", slot, "STABLE")
        raise
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
    # Another room on the same shard, whose slot stays: its viewer must not notice a thing.
    await cluster_redis.nodes_manager.initialize()  # the slot map as it is now
    shard = cluster_redis.get_node_from_key(RoomKeys("moving").channel)
    assert shard is not None
    steady = next(
        f"steady-{n}"
        for n in range(10_000)
        if cluster_redis.get_node_from_key(RoomKeys(f"steady-{n}").channel) == shard
        and cluster_redis.keyslot(RoomKeys(f"steady-{n}").channel)
        != cluster_redis.keyslot(RoomKeys("moving").channel)
    )

    async def watch(room: str, user: str) -> aiohttp.ClientWebSocketResponse:
        ws = await client.ws_connect(f"/rooms/{room}/live", params={"token": token(user)})
        await events_until(ws, of_type("snapshot"))
        return ws

    watcher, poster = await watch("moving", "wendy"), await watch("moving", "paul")
    calm = await watch(steady, "cora")
    assert (await ask(poster, "chat", text="before the move"))["type"] == "chat_ack"
    [*_, seen] = await events_until(watcher, of_type("chat", text="before the move"))

    home = await move_slot(cluster_redis, RoomKeys("moving").channel)
    try:
        # Published once the slot moved, maybe before this server subscribed again: into
        # the room's history on the new shard.
        await client.app[ROOM_PUBLISHER].publish("moving", "announcement", {"text": "moved"})
        # The server's subscription ended with the move: it tells the room's viewers to
        # resume, and only them.
        assert await close_code(watcher) == 4001
        assert await close_code(poster) == 4001
        # (Its own line may reach it before the acknowledgement: wait for the line.)
        await send(calm, "chat", text="calm here")
        await events_until(calm, of_type("chat", text="calm here"))
        assert not calm.closed
        resumed = await client.ws_connect(
            "/rooms/moving/live", params={"token": token("wendy"), "since": seen["offset"]}
        )
        await events_until(resumed, of_type("announcement", text="moved"))
        poster = await client.ws_connect("/rooms/moving/live", params={"token": token("paul")})
        await events_until(poster, of_type("snapshot"))
        # Lines posted after the move reach the resumed viewer, live, from the new shard.
        for n in range(3):
            text = f"after the move {n}"
            assert (await ask(poster, "chat", text=text))["type"] == "chat_ack"
            await events_until(resumed, of_type("chat", text=text))
        for ws in (resumed, poster, calm):
            await ws.close()
    finally:
        await move_slot(cluster_redis, RoomKeys("moving").channel, to=home)
