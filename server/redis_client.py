"""The one way this service opens a Redis client."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def connect(url: str, *, decode: bool = True, max_connections: int = 64) -> Redis:
    """A client that fails fast instead of retrying by itself.

    redis-py retries a command after a dropped connection by default. A host's restock is
    not idempotent, so a silent retry could apply it twice; callers decide what is safe to
    retry (every purchase call is, by its idempotency key or hold id). ``decode=False``
    returns bytes, for msgpack-encoded room events.
    """
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
    )
    # from_pool: closing the client closes the pool and its connections.
    return Redis.from_pool(pool)
