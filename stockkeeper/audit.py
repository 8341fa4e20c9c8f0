"""Reading a whole Kafka topic, to check what fulfilment receives (tests, load tests, audits)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True, slots=True)
class Record:
    """One message read back from a topic."""

    partition: int
    key: bytes | None
    value: dict[str, Any]


async def read_topic(
    bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0, settle_s: float = 1.0
) -> list[dict[str, Any]]:
    """Every message of ``topic`` once ``expected`` arrived (waiting ``settle_s`` for extras)."""
    records = await read_records(bootstrap, topic, expected, timeout_s, settle_s)
    return [record.value for record in records]


async def read_records(
    bootstrap: str,
    topic: str,
    expected: int,
    timeout_s: float = 30.0,
    settle_s: float = 1.0,
    isolation_level: str = "read_committed",
) -> list[Record]:
    """Every record of ``topic``, with its partition and key, once ``expected`` arrived.

    Reads every partition from the beginning by assignment, not by group subscription, so a
    topic created moments ago is read whole."""
    deadline = time.monotonic() + timeout_s
    partitions = await _partitions(bootstrap, topic, deadline)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        # What fulfilment reads: the orders of committed relay transactions only.
        isolation_level=isolation_level,
    )
    await consumer.start()
    messages: list[Record] = []
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        settle_until: float | None = None
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                messages.extend(Record(m.partition, m.key, orjson.loads(m.value)) for m in batch)
            if len(messages) >= expected:
                settle_until = settle_until or time.monotonic() + settle_s
                if time.monotonic() >= settle_until:
                    break
    finally:
        await consumer.stop()
    return messages


async def _partitions(bootstrap: str, topic: str, deadline: float) -> list[int]:
    """The topic's partitions, once the relay has created it and every one has a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        while time.monotonic() < deadline:
            [described] = await admin.describe_topics([topic])
            partitions = described["partitions"]
            if partitions and all(p["leader"] >= 0 for p in partitions):
                return [p["partition"] for p in partitions]
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    raise TimeoutError(f"Topic {topic} never appeared")
