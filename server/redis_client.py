"""The one way this service opens a Redis client: one server, or a Redis Cluster.

``redis-cluster://host:port`` names any node of a cluster; the client discovers the rest
and sends each command to the shard of its keys. Every key of an offer shares the hash tag
``{offer:ID}`` and every key of a room ``{room:ID}``, so each Lua script touches one slot.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig

from stockkeeper.wait_for import use_in_asyncio

CLUSTER_SCHEME = "redis-cluster://"


def is_cluster(url: str) -> bool:
    """Whether the URL names a Redis Cluster (``redis-cluster://``)."""
    return url.startswith(CLUSTER_SCHEME)


def connect(url: str, *, decode: bool = True, max_connections: int = 64) -> Redis:
    """A client that fails fast instead of retrying by itself, and never sends a command on
    a connection Redis has closed.

    redis-py retries a command after a dropped connection by default. A host's restock is
    not idempotent, so a silent retry could apply it twice: no command is retried here.
    Callers resend what is safe to repeat (the stock scripts the batcher marks repeatable:
    every purchase call, by its idempotency key or hold id). ``decode=False`` returns
    bytes, for msgpack-encoded room events.

    What makes a restart of Redis invisible is the pool's own check: before lending a
    pooled connection it looks whether the server closed it (a restart closes every one)
    and connects it again, before any command is written, so nothing is sent twice.
    redis-py 8 skips that check when "maintenance notifications" are on, which they are by
    default ("auto", for managed Redis that announces failovers over RESP3): every stale
    connection then failed one request with 503 after Redis was back. This service does not
    use them, so they are off.
    """
    use_in_asyncio()  # redis-py writes each command through asyncio.wait_for
    if is_cluster(url):
        cluster = RedisCluster.from_url(
            "redis://" + url.removeprefix(CLUSTER_SCHEME),
            decode_responses=decode,
            max_connections=max_connections,
            retry=Retry(NoBackoff(), 0),
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )
        # The cluster client speaks the same commands, pipelines, scripts and pub/sub as
        # the single-server one; the code is written against that shared surface.
        return cast(Redis, cluster)
    # A burst (a chat storm, a rush of confirms) waits up to 2 s for a free connection
    # instead of failing; the batched purchase path needs only a few.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=2.0,
        decode_responses=decode,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=10,
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )
    # from_pool: closing the client closes the pool and its connections.
    return Redis.from_pool(pool)


async def discover(redis: Redis) -> None:
    """Learn a cluster's slot map now (again, when it was known: a slot may have moved);
    pub/sub needs it before its first command."""
    if isinstance(redis, RedisCluster):
        await redis.initialize()  # the first time only: the nodes and their connections
        # The client asks again by itself only after commands were redirected; a pub/sub
        # connection to the wrong shard is never redirected.
        await redis.nodes_manager.initialize()
