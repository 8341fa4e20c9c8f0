"""The relay-state record: which outbox entries a relay's Kafka transaction carried.

Each batch's transaction writes, besides its orders and refunds, one record to the compacted
topic ``livesale.relay.state`` keyed by the relay's name, listing the batch's (stream, entry
id) pairs. A relay acknowledges a batch's entries right after its commit and works one batch
at a time, so only its last committed batch can be committed and still unacknowledged: a
relay starting under a name reads that name's last record (read-committed, after fencing
the name's earlier producers) and acknowledges those entries instead of sending them again.
Described by ``schemas/relay_state.v1.json``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from ..events import iso_ms
from .outbox import Entry

SCHEMA_VERSION = 1
#: The state topic has one partition: a relay finds its last record without knowing how
#: the producer would hash its name, and adding partitions can never move it.
STATE_PARTITION = 0


def record(relay: str, transactional_id: str, batch: list[Entry]) -> bytes:
    """The state record of one batch's transaction."""
    by_stream: dict[str, list[str]] = {}
    for entry in batch:
        by_stream.setdefault(entry.stream, []).append(entry.entry_id)
    return orjson.dumps(
        {
            "schema": "livesale.relay_state",
            "schema_version": SCHEMA_VERSION,
            "relay": relay,
            "transactional_id": transactional_id,
            "committed_at": iso_ms(int(time.time() * 1000)),
            "entries": [{"stream": s, "ids": ids} for s, ids in by_stream.items()],
        }
    )


def entries_of(value: dict[str, Any]) -> list[tuple[str, str]]:
    """The (stream, entry id) pairs a state record lists."""
    if value.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"Unsupported relay state version {value.get('schema_version')}")
    return [(group["stream"], entry_id) for group in value["entries"] for entry_id in group["ids"]]


async def last_committed(
    bootstrap: str, topic: str, relay: str, timeout_s: float
) -> list[tuple[str, str]]:
    """The entries of ``relay``'s last committed batch (none if it never committed one).

    Call it only once the relay's transactional id is fenced (its producer initialised), so
    no transaction of an earlier incarnation can still commit. Reads up to the high
    watermark seen after the fence, not just to the last stable offset: a transaction of
    another relay left open below our last record would otherwise hide it."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    try:
        async with asyncio.timeout(timeout_s):
            await consumer.start()
            return await _read_last(consumer, TopicPartition(topic, STATE_PARTITION), relay)
    finally:
        await consumer.stop()


async def _read_last(
    consumer: AIOKafkaConsumer, partition: TopicPartition, relay: str
) -> list[tuple[str, str]]:
    consumer.assign([partition])
    await consumer.seek_to_beginning(partition)
    key = relay.encode()
    last: list[tuple[str, str]] = []
    end: int | None = None
    while True:
        batches = await consumer.getmany(partition, timeout_ms=100)
        for message in batches.get(partition, []):
            if message.key == key and message.value is not None:
                last = entries_of(orjson.loads(message.value))
        if end is None:
            # Known once the first fetch answered, and that fetch came after the fence.
            end = consumer.highwater(partition)
        if end is not None and await consumer.position(partition) >= end:
            return last
