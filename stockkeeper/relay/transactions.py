"""One relay name's transactional Kafka producer: fence, recover, publish batches atomically.

The transactional id is derived from the relay's stable name, so at most one producer of a
name can commit: starting one (``init_transactions``, done by aiokafka's ``start()``) fences
every earlier producer of that name and aborts the transaction it left open. A fenced
producer's commit fails with ``ProducerFenced``, and its batch is never acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from .. import events
from ..settings import StockSettings
from . import state
from .outbox import Entry

log = logging.getLogger(__name__)

#: Longest wait for a producer to shut down (aborting its open transaction first).
STOP_TIMEOUT_S = 5.0


def transactional_id(relay: str) -> str:
    """The Kafka transactional id of the relay named ``relay``."""
    return f"livesale-relay-{relay}"


class RelayTransactions:
    """The producer of one relay name, from its fencing to its close."""

    def __init__(self, settings: StockSettings, relay: str) -> None:
        self.settings = settings
        self.relay = relay
        self.transactional_id = transactional_id(relay)
        self._producer: AIOKafkaProducer | None = None
        self._in_transaction = False
        #: Topics named by ``event`` entries that are known to exist.
        self._event_topics: set[str] = set()

    async def open(self) -> None:
        """Fence earlier producers of this name: from then on none of them can commit."""
        await ensure_topics(self.settings)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=self.transactional_id,
            transactional_id=self.transactional_id,
            transaction_timeout_ms=self.settings.relay_transaction_timeout_ms,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            request_timeout_ms=10_000,
            retry_backoff_ms=200,
        )
        self._producer = producer
        # start() returns once Kafka gave this producer the name's new epoch: from then on
        # no earlier producer of the name can commit, and its open transaction is aborted.
        try:
            async with asyncio.timeout(self.settings.relay_kafka_timeout_s):
                await producer.start()
        except AssertionError as exc:
            # aiokafka asserts when its bootstrap broker vanishes mid-start: an outage.
            raise KafkaConnectionError(f"Kafka producer could not start ({exc})") from exc

    async def last_committed(self) -> list[tuple[str, str]]:
        """The entries of this name's last committed batch, which may not have been
        acknowledged yet. Only once opened (fenced)."""
        self._live()
        return await state.last_committed(
            self.settings.kafka_bootstrap,
            self.settings.relay_state_topic,
            self.relay,
            # Waits out an open transaction of another relay on the state topic.
            self.settings.relay_kafka_timeout_s + self.settings.relay_transaction_timeout_ms / 1000,
        )

    async def send(self, batch: list[Entry]) -> int:
        """Begin a transaction and send the batch and its state record; returns how many
        messages Kafka acknowledged."""
        producer = self._live()
        new_topics = {
            entry.fields["topic"] for entry in batch if entry.fields.get("type") == "event"
        } - self._event_topics
        if new_topics:
            # A feature's first event: its topic is created like the orders topic.
            await ensure_topics(self.settings, new_topics)
            self._event_topics |= new_topics
        async with asyncio.timeout(self.settings.relay_kafka_timeout_s):
            await producer.begin_transaction()
            self._in_transaction = True
            sends = []
            for entry in batch:
                event = events.outbound(
                    entry.fields, self.settings.orders_topic, self.settings.refunds_topic
                )
                sends.append(await producer.send(event.topic, value=event.value, key=event.key))
            sends.append(
                await producer.send(
                    self.settings.relay_state_topic,
                    value=state.record(self.relay, self.transactional_id, batch),
                    key=self.relay.encode(),
                    partition=state.STATE_PARTITION,
                )
            )
            # Every message is in flight together; a failure surfaces here, before commit.
            await asyncio.gather(*sends)
        return len(sends) - 1

    async def commit(self) -> None:
        """Commit the open transaction: its orders become visible to read-committed readers."""
        producer = self._live()
        async with asyncio.timeout(self.settings.relay_kafka_timeout_s):
            await producer.commit_transaction()
        self._in_transaction = False

    async def close(self) -> None:
        """Abort the open transaction if the producer still can, then stop it."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        if self._in_transaction:
            self._in_transaction = False
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await producer.abort_transaction()
            except Exception as exc:
                # The next producer of this name aborts it when it starts, or Kafka does
                # after the transaction timeout.
                log.debug("Could not abort the relay's transaction: %s", exc)
        await _stop(producer)

    def _live(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("The relay's producer is not open")
        return self._producer


async def _stop(producer: AIOKafkaProducer) -> None:
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await producer.stop()
    except Exception as exc:
        # stop() waits for every batch to be delivered, for ever while the broker is away.
        # Its sender must not live on, so end it and its connections. (A batch it delivered
        # late would be rejected anyway: the next producer of the name has a newer epoch.)
        log.debug("Kafka producer did not stop cleanly: %s", exc)
        sender = producer._sender.sender_task
        if sender is not None and not sender.done():
            sender.cancel()
            with contextlib.suppress(BaseException):
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await sender
        with contextlib.suppress(Exception):
            await producer.client.close()


async def ensure_topics(settings: StockSettings, event_topics: Iterable[str] = ()) -> None:
    """Create the orders, refunds and relay-state topics, and the topics of other features'
    events, when they do not exist yet."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000
    )
    try:
        # Started inside the try: a start that fails while Kafka is down is closed too,
        # or every retry of the outage would leave a client behind.
        async with asyncio.timeout(settings.relay_kafka_timeout_s):
            await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(topic, settings.topic_partitions, settings.topic_replication)
            for topic in (settings.orders_topic, settings.refunds_topic, *event_topics)
            if topic not in existing
        ]
        if settings.relay_state_topic not in existing:
            wanted.append(
                NewTopic(
                    settings.relay_state_topic,
                    1,
                    settings.topic_replication,
                    topic_configs={
                        "cleanup.policy": "compact",
                        # Relays read this topic from the start when they start: keep the
                        # uncompacted tail short.
                        "segment.ms": "60000",
                        "min.cleanable.dirty.ratio": "0.1",
                    },
                )
            )
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()
