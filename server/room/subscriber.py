"""Sharded pub/sub subscriptions of one server process, on one Redis or a Redis Cluster.

A room's channel is a shard channel (SSUBSCRIBE): on a cluster it lives on the shard that
owns the room's slot, so publishing costs one shard, not the whole cluster bus. This keeps
one subscriber connection per shard that has a subscribed room (just one on a single
Redis), and a reader per connection feeding one queue the hub reads from. When Redis ends a
subscription itself (the room's slot moved to another shard), the hub hears of it as
:class:`SubscriptionLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from stockkeeper.cancellation import stop_if_cancelled

from ..redis_client import connect

_FAILED = "failed"
_MOVED = "moved"
CLOSE_TIMEOUT_S = 5.0
CONFIRM_TIMEOUT_S = 2.0
log = logging.getLogger(__name__)


class SubscriptionLost(RedisConnectionError):
    """Redis ended the subscription to ``channel``, which this process did not give up: its
    slot moved to another shard (resharding, a failover). The connection and its other
    channels go on; the hub subscribes to this one again and its viewers resume."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"Redis ended the subscription to {channel} (its slot moved)")
        self.channel = channel


class ShardedSubscriber:
    """Sharded pub/sub over a Redis Cluster (or one Redis): one connection per shard."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._shards: dict[str, tuple[Redis | None, PubSub]] = {}
        self._shard_of: dict[str, str] = {}
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._confirmed: dict[bytes, asyncio.Event] = {}
        #: Unsubscriptions asked for and not yet confirmed, by channel: any other
        #: confirmation is Redis's own (see _read).
        self._leaving: dict[bytes, int] = {}

    def _shard(self, channel: str) -> str:
        if isinstance(self.redis, RedisCluster):
            return str(self.redis.get_node_from_key(channel).name)
        return "redis"

    def _connect(self, shard: str) -> tuple[Redis | None, PubSub]:
        if isinstance(self.redis, RedisCluster):
            node = self.redis.get_node(node_name=shard)
            assert node is not None
            # As every client of the service (redis_client.py): no silent retries, so a
            # dropped connection reaches the hub (which subscribes again, and its viewers
            # resume) instead of being reconnected quietly over a gap of lost events.
            client = connect(f"redis://{node.host}:{node.port}", decode=False)
            return client, client.pubsub()
        return None, self.redis.pubsub()

    async def subscribe(self, channel: str) -> None:
        """Subscribe, and return once Redis confirms: a viewer's snapshot or history is read
        after this, so no event can fall between the two."""
        shard = self._shard(channel)
        if shard not in self._shards:
            self._shards[shard] = self._connect(shard)
        confirmed = self._confirmed[channel.encode()] = asyncio.Event()
        await self._shards[shard][1].ssubscribe(channel)
        self._shard_of[channel] = shard
        # Only now may the reader ask for messages: before its first subscription the
        # pub/sub connection does not exist yet.
        if shard not in self._readers:
            self._readers[shard] = asyncio.create_task(self._read(self._shards[shard][1]))
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                await confirmed.wait()
        except TimeoutError:
            log.warning("Redis did not confirm the subscription to %s in time", channel)

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving a channel's messages."""
        shard = self._shard_of.pop(channel, None)
        if shard is not None and shard in self._shards:
            name = channel.encode()
            self._leaving[name] = self._leaving.get(name, 0) + 1
            try:
                await self._shards[shard][1].sunsubscribe(channel)
            except BaseException:
                self._asked_to_leave(name)  # no confirmation will come for it
                raise

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                stop_if_cancelled()
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "smessage":
                    await self._queue.put(message)
                elif message["type"] == "ssubscribe":
                    confirmed = self._confirmed.pop(message["channel"], None)
                    if confirmed is not None:
                        confirmed.set()
                elif message["type"] == "sunsubscribe":
                    # Redis ends a shard channel's subscriptions itself when its slot moves
                    # to another shard (resharding, a failover): the room would fall silent.
                    channel = message["channel"]
                    if not self._asked_to_leave(channel) and channel.decode() in self._shard_of:
                        await self._queue.put({"type": _MOVED, "channel": channel.decode()})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The hub sees the failure in its next read and starts over.
            await self._queue.put({"type": _FAILED, "error": exc})

    def _asked_to_leave(self, channel: bytes) -> bool:
        """Whether an unsubscription is the confirmation of one asked for (counted off)."""
        leaving = self._leaving.get(channel, 0)
        if leaving == 0:
            return False
        if leaving == 1:
            del self._leaving[channel]
        else:
            self._leaving[channel] = leaving - 1
        return True

    async def get_message(self, wait_s: float) -> dict[str, Any] | None:
        """The next message from any shard, or None after ``wait_s`` seconds."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives with a message, and the hub being stopped would read on for ever.
        try:
            async with asyncio.timeout(wait_s):
                message = await self._queue.get()
        except TimeoutError:
            return None
        if message["type"] == _FAILED:
            raise message["error"]
        if message["type"] == _MOVED:
            raise SubscriptionLost(message["channel"])
        return message

    async def aclose(self) -> None:
        """Stop every shard's reader and close its connection."""
        for reader in self._readers.values():
            reader.cancel()
        await asyncio.gather(*self._readers.values(), return_exceptions=True)
        for client, pubsub in self._shards.values():
            # Bounded: a connection to a shard that went away must not hold up a shutdown.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if client is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_TIMEOUT_S):
                        await client.aclose()
        self._shards.clear()
        self._shard_of.clear()
        self._readers.clear()
