"""Before a process starts: are its Redis and Kafka there? One clear line when not.

A command that starts against a missing Redis would otherwise fail on its first request
with a traceback, or retry forever in the background. Each check tries once, with a short
timeout, and says what it tried and what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from urllib.parse import urlsplit

from aiokafka import AIOKafkaProducer
from redis.exceptions import RedisClusterException, RedisError

from .redis_client import connect, discover

REDIS_TIMEOUT_S = 3.0
KAFKA_TIMEOUT_S = 5.0
START_THE_STACK = "Start the local stack with `livesale stack up` or set"


class Unreachable(Exception):
    """A service this process needs did not answer; the message is the line to show."""


async def check_redis(url: str, timeout_s: float = REDIS_TIMEOUT_S) -> None:
    """Raise :class:`Unreachable` unless the Redis at ``url`` answers PING in time."""
    redis = connect(url, max_connections=2)
    try:
        async with asyncio.timeout(timeout_s):
            await discover(redis)
            await redis.ping()
    except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
        raise Unreachable(
            f"cannot reach Redis at {_without_password(url)} ({_reason(exc, timeout_s)}). "
            f"{START_THE_STACK} LIVESALE_REDIS_URL."
        ) from exc
    finally:
        await redis.aclose()


async def check_kafka(bootstrap: str, timeout_s: float = KAFKA_TIMEOUT_S) -> None:
    """Raise :class:`Unreachable` unless a broker of ``bootstrap`` answers a metadata request."""
    try:
        async with asyncio.timeout(timeout_s):
            await _any_address_open(bootstrap)
            # Something listens; make sure it is a Kafka broker that answers.
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            with _quiet("aiokafka"):
                try:
                    await producer.start()
                finally:
                    await producer.stop()
    except Exception as exc:
        raise Unreachable(
            f"cannot reach Kafka at {bootstrap} ({_reason(exc, timeout_s)}). "
            f"{START_THE_STACK} LIVESALE_KAFKA_BOOTSTRAP."
        ) from exc


async def check(redis_url: str, kafka_bootstrap: str | None = None) -> None:
    """Check Redis, and Kafka when the process talks to it (``kafka_bootstrap`` given)."""
    await check_redis(redis_url)
    if kafka_bootstrap is not None:
        await check_kafka(kafka_bootstrap)


async def _any_address_open(bootstrap: str) -> None:
    """Return once a TCP connection to one bootstrap address opens; else raise the last error.

    The plain connect gives the operating system's reason (refused, no route), which the
    Kafka client would only log.
    """
    error: OSError = OSError("no bootstrap address given")
    for address in filter(None, (a.strip() for a in bootstrap.split(","))):
        host, _, port = address.rpartition(":")
        try:
            _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except OSError as exc:
            error = exc
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    raise error


def _reason(exc: BaseException, timeout_s: float) -> str:
    """The root cause in a few words: the OS's reason when there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return f"no answer in {timeout_s:g} s"
        if isinstance(seen, OSError) and seen.errno:
            return os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return str(exc).split("\n", 1)[0] or type(exc).__name__


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Silence a library's error log while its failure is reported as one line instead."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)
