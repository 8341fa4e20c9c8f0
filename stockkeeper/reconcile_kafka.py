"""Reading a topic to its end for reconciliation (stockkeeper/reconcile.py): by partition
assignment, read committed, without a consumer group, so no group's offsets ever move."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


async def read_to_end(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Every committed message of ``topic`` up to the end of each partition as it is now; an
    empty list when the topic does not exist yet (nothing was ever relayed)."""
    deadline = time.monotonic() + timeout_s
    partitions = await _partitions(bootstrap, topic)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    values: list[dict[str, Any]] = []
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Reading {topic} to its end took over {timeout_s} s")
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                values.extend(orjson.loads(m.value) for m in batch if m.value is not None)
    finally:
        await consumer.stop()
    return values


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(50):
            try:
                [described] = await admin.describe_topics([topic])
            except KafkaError:
                return []
            if described.get("error_code", 0) == 3:  # UNKNOWN_TOPIC_OR_PARTITION
                return []
            partitions = described["partitions"]
            if partitions and all(p["leader"] >= 0 for p in partitions):
                return [p["partition"] for p in partitions]
            await asyncio.sleep(0.2)
        return []
    finally:
        await admin.close()
