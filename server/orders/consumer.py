"""The consumer of fulfilment's status events: topic ``orders.status``, its own group.

One consumer per server process, all in one group: Kafka shares the partitions among
them, and events are keyed by order id, so one order's events are read by one process in
the order they were written. Order is not relied on all the same (order_status.lua
compares status ranks and times).

Offsets are committed after a batch is applied, so a crash reads a batch again and the
script answers the repeats as duplicates. A bad event (not JSON, not of the schema, an
unknown status or order) is logged, counted and skipped: it never stops the consumer and
never holds back its partition. Redis or Kafka being away is not a bad event: the
consumer starts over from the last commit once they answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from prometheus_client import CollectorRegistry, Counter
from redis.exceptions import RedisError

from stockkeeper.cancellation import stop_if_cancelled

from .status import EventOutcome, Handled, StatusUpdates

log = logging.getLogger(__name__)

#: Pause before starting over after Redis or Kafka failed (doubling up to the maximum).
RETRY_S = 0.5
MAX_RETRY_S = 10.0
BAD_OUTCOMES = frozenset({"not_json", "invalid", "unknown_status", "unknown_order"})


@dataclass(frozen=True, slots=True)
class StatusTopic:
    """Where fulfilment's status events are read, and as which consumer group."""

    bootstrap: str
    topic: str
    group: str
    partitions: int = 6
    replication: int = 1


def status_counter(registry: CollectorRegistry) -> Counter:
    """The metric of status events by outcome (applied, duplicate, stale, and the bad ones)."""
    return Counter(
        "livesale_order_status_events",
        "Fulfilment status events read, by outcome.",
        ["outcome"],
        registry=registry,
    )


class StatusConsumer:
    """Reads ``orders.status`` in its consumer group and applies each event."""

    def __init__(self, where: StatusTopic, updates: StatusUpdates, counter: Counter) -> None:
        self.where = where
        self.updates = updates
        self.counter = counter
        #: Events handled by outcome, since start (tests and logs read it).
        self.counts: dict[EventOutcome, int] = {}
        self._joined = False

    async def run(self) -> None:
        """Consume until cancelled, starting over after any failure."""
        pause = RETRY_S
        while True:
            stop_if_cancelled()
            self._joined = False
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except (KafkaError, RedisError, OSError) as exc:
                # Kafka or Redis out of reach: expected in an outage, said in one line.
                if self._joined:
                    pause = RETRY_S  # it worked for a while: a new failure starts short
                log.warning(
                    "Order status consumer cannot reach Kafka or Redis (%s); starting over in"
                    " %.1f s",
                    exc,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RETRY_S)
            except Exception:
                if self._joined:
                    pause = RETRY_S
                log.exception("Order status consumer failed; starting over in %.1f s", pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RETRY_S)

    async def _consume(self) -> None:
        await self._ensure_topic()
        consumer = AIOKafkaConsumer(
            self.where.topic,
            bootstrap_servers=self.where.bootstrap,
            group_id=self.where.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        try:
            await consumer.start()
            self._joined = True
            while True:
                stop_if_cancelled()
                batches = await consumer.getmany(timeout_ms=500, max_records=200)
                for messages in batches.values():
                    for message in messages:
                        self._count(await self.updates.handle(message.value or b""))
                if batches:
                    await consumer.commit()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    def _count(self, handled: Handled) -> None:
        self.counts[handled.outcome] = self.counts.get(handled.outcome, 0) + 1
        self.counter.labels(handled.outcome).inc()
        if handled.outcome in BAD_OUTCOMES:
            log.warning(
                "Skipped an order status event (%s) for order %r: %s",
                handled.outcome,
                handled.order_id,
                handled.reason[:200],
            )

    async def _ensure_topic(self) -> None:
        """Create the topic when fulfilment has not yet, so the group can join at once."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.where.bootstrap, request_timeout_ms=10_000
        )
        try:
            await admin.start()
            if self.where.topic not in set(await admin.list_topics()):
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [NewTopic(self.where.topic, self.where.partitions, self.where.replication)]
                    )
        finally:
            await admin.close()
