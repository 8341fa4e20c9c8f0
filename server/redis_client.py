"""The one way this service opens a Redis client."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def connect(url: str, *, decode: bool = True) -> Redis:
    """A client that fails fast instead of retrying by itself.

    redis-py retries a command after a dropped connection by default. A host's restock is
    not idempotent, so a silent retry could apply it twice; callers decide what is safe to
    retry (every purchase call is, by its idempotency key or hold id). ``decode=False``
    returns bytes, for msgpack-encoded room events.
    """
    return Redis.from_url(
        url,
        decode_responses=decode,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=10,
    )
