"""Relays the outbox to Kafka: at least once, by stable ids, losing nothing.

Each offer's outbox is a Redis Stream read through the consumer group ``relay``. An entry is
acknowledged (and deleted) only after Kafka has acknowledged its message, so:

- while Kafka is down, orders wait in the outbox and go out when it is back;
- a relay killed mid-batch re-sends its unacknowledged entries when it restarts under the
  same name, and entries of a relay that never comes back are claimed by another one.

A re-sent entry produces the same message with the same key (the order id), so consumers
de-duplicate by order id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from . import events, keys
from .cancellation import stop_if_cancelled
from .keys import OfferKeys
from .settings import StockSettings

log = logging.getLogger(__name__)

#: Longest wait for Kafka to acknowledge a batch before it is sent again.
SEND_TIMEOUT_S = 30.0
#: Longest wait for a failed producer to shut down before a fresh one replaces it.
STOP_TIMEOUT_S = 5.0

# (stream key, entry id, fields)
Entry = tuple[str, str, dict[str, str]]


class OutboxRelay:
    def __init__(self, redis: Redis, settings: StockSettings, name: str) -> None:
        self.redis = redis
        self.settings = settings
        self.name = name
        self.published = 0
        #: Told how many messages Kafka acknowledged together, and how long that took.
        self.on_sent: Callable[[int, float], None] = lambda count, seconds: None
        self._producer: AIOKafkaProducer | None = None
        self._groups: set[str] = set()
        # After a start or a failure, this relay's own unacknowledged entries go first.
        self._own_pending = True
        self._last_claim = 0.0

    async def run(self) -> None:
        """Relay until cancelled, riding out Kafka and Redis outages."""
        backoff = 0.2
        try:
            while True:
                stop_if_cancelled()
                try:
                    sent = await self.relay_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Whatever went wrong, the orders are still in the outbox: log, wait,
                    # and start over with a fresh producer. This loop must never die.
                    if not isinstance(exc, TimeoutError | KafkaError | RedisError | OSError):
                        log.exception("Outbox relay hit an unexpected error")
                    waiting = await self._outbox_depth_or_none()
                    log.warning(
                        "Orders cannot reach Kafka yet (%s: %s); %s wait in the outbox. "
                        "Retrying in %.1f s.",
                        type(exc).__name__,
                        exc,
                        "unknown number" if waiting is None else waiting,
                        backoff,
                    )
                    await self._drop_producer()
                    self._own_pending = True
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.2
                if not sent:
                    await asyncio.sleep(self.settings.relay_idle_poll_s)
        finally:
            await self._drop_producer()

    async def relay_once(self) -> int:
        """Publish one batch of outbox entries; returns how many were sent."""
        streams = await self._streams()
        if not streams:
            return 0
        batch: list[Entry] = []
        if self._own_pending:
            batch = await self._read(streams, "0")
            self._own_pending = bool(batch)
        if not batch:
            batch = await self._claim_abandoned(streams)
        if not batch:
            batch = await self._read(streams, ">")
        if not batch:
            return 0
        await self._publish(batch)
        await self._acknowledge(batch)
        self.published += len(batch)
        return len(batch)

    async def outbox_depth(self) -> int:
        """Entries written but not yet acknowledged by Kafka, over all offers."""
        return await outbox_depth(self.redis)

    async def _outbox_depth_or_none(self) -> int | None:
        try:
            return await self.outbox_depth()
        except (RedisError, OSError):
            return None

    async def _streams(self) -> list[str]:
        offer_ids = cast(set[str], await self.redis.smembers(keys.OFFERS))
        streams = [OfferKeys(offer_id).outbox for offer_id in offer_ids]
        missing = [s for s in streams if s not in self._groups]
        if missing:
            pipe = self.redis.pipeline(transaction=False)
            for stream in missing:
                pipe.xgroup_create(stream, keys.RELAY_GROUP, id="0", mkstream=True)
            for stream, reply in zip(
                missing, await pipe.execute(raise_on_error=False), strict=True
            ):
                if isinstance(reply, ResponseError) and "BUSYGROUP" not in str(reply):
                    raise reply
                self._groups.add(stream)
        return streams

    async def _read(self, streams: list[str], from_id: str) -> list[Entry]:
        # One XREADGROUP per stream, pipelined: works the same on a Redis Cluster, where
        # the streams of different offers live in different slots.
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xreadgroup(
                keys.RELAY_GROUP,
                self.name,
                {stream: from_id},
                count=self.settings.relay_batch,
            )
        batch: list[Entry] = []
        for reply in await pipe.execute():
            for stream, entries in reply or []:
                batch.extend((stream, entry_id, fields) for entry_id, fields in entries if fields)
        return batch

    async def _claim_abandoned(self, streams: list[str]) -> list[Entry]:
        """Take over entries a dead relay read but never acknowledged."""
        now = time.monotonic()
        if now - self._last_claim < self.settings.relay_claim_idle_ms / 3000:
            return []
        self._last_claim = now
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xautoclaim(
                stream,
                keys.RELAY_GROUP,
                self.name,
                min_idle_time=self.settings.relay_claim_idle_ms,
                start_id="0",
                count=self.settings.relay_batch,
            )
        batch: list[Entry] = []
        for stream, reply in zip(streams, await pipe.execute(), strict=True):
            claimed: list[Any] = reply[1]
            batch.extend((stream, entry_id, fields) for entry_id, fields in claimed if fields)
        if batch:
            log.warning("Took over %d outbox entries left by a stopped relay", len(batch))
        return batch

    async def _publish(self, batch: list[Entry]) -> None:
        producer = await self._ensure_producer()
        sends = []
        for _, _, fields in batch:
            event = events.outbound(fields, self.settings.orders_topic, self.settings.refunds_topic)
            sends.append(await producer.send(event.topic, value=event.value, key=event.key))
        # Every message of the batch is in flight together; wait for Kafka to acknowledge
        # all of them before anything is removed from the outbox. Bounded: a producer that
        # lost its broker must not hold the relay forever (the batch is simply sent again).
        started = time.monotonic()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the sends complete, and a relay being stopped would run on.
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await asyncio.gather(*sends)
        self.on_sent(len(sends), time.monotonic() - started)

    async def _acknowledge(self, batch: list[Entry]) -> None:
        by_stream: dict[str, list[str]] = {}
        for stream, entry_id, _ in batch:
            by_stream.setdefault(stream, []).append(entry_id)
        pipe = self.redis.pipeline(transaction=False)
        for stream, ids in by_stream.items():
            pipe.xack(stream, keys.RELAY_GROUP, *ids)
            pipe.xdel(stream, *ids)
        await pipe.execute()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            await ensure_topics(self.settings)
            producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                client_id=f"livesale-relay-{self.name}",
                enable_idempotence=True,
                acks="all",
                linger_ms=5,
                request_timeout_ms=10_000,
                retry_backoff_ms=200,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
            log.info("Outbox relay %s connected to Kafka", self.name)
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            # stop() flushes what is still pending, which can wait on a broker that is gone.
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await producer.stop()
            except Exception as exc:
                log.debug("Kafka producer did not stop cleanly: %s", exc)


async def outbox_depth(redis: Redis) -> int:
    """Entries written but not yet acknowledged by Kafka, over all offers."""
    offer_ids = cast(set[str], await redis.smembers(keys.OFFERS))
    pipe = redis.pipeline(transaction=False)
    for offer_id in offer_ids:
        pipe.xlen(OfferKeys(offer_id).outbox)
    return sum(await pipe.execute())


async def ensure_topics(settings: StockSettings) -> None:
    """Create the orders and refunds topics when they do not exist yet."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(topic, settings.topic_partitions, settings.topic_replication)
            for topic in (settings.orders_topic, settings.refunds_topic)
            if topic not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()
