"""The Redis side of the relay: the outbox streams, read through the consumer group ``relay``.

An entry stays in its reader's pending list (the group's PEL, under the relay's name) until
the Kafka transaction that carried it has committed; then it is acknowledged and deleted.
Entries are never moved from one relay's name to another's: a relay that takes over a dead
one reads the dead one's pending list under the dead one's name (see ``relay.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .. import keys
from ..keys import OfferKeys


@dataclass(frozen=True, slots=True)
class Entry:
    """One outbox entry: the stream it is in, its id, and the fields the scripts wrote."""

    stream: str
    entry_id: str
    fields: dict[str, str]


class Outbox:
    """Every offer's outbox stream, as the consumer group ``relay`` sees it."""

    def __init__(self, redis: Redis, batch: int) -> None:
        self.redis = redis
        self.batch = batch
        self._groups: set[str] = set()

    async def streams(self) -> list[str]:
        """Every outbox stream (each offer's and the registered others), each with the relay
        group created on first sight."""
        streams = await outbox_streams(self.redis)
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

    async def read(self, streams: list[str], reader: str, pending: bool) -> list[Entry]:
        """Up to a batch per stream: ``reader``'s pending entries, or new ones.

        Reading pending entries again marks them as recently delivered, so a live relay
        working through its own is not taken for dead."""
        # One XREADGROUP per stream, pipelined: works the same on a Redis Cluster, where
        # the streams of different offers live in different slots.
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xreadgroup(
                keys.RELAY_GROUP, reader, {stream: "0" if pending else ">"}, count=self.batch
            )
        batch: list[Entry] = []
        deleted: list[Entry] = []
        for reply in await pipe.execute():
            for stream, entries in reply or []:
                for entry_id, fields in entries:
                    entry = Entry(stream, entry_id, fields or {})
                    (batch if fields else deleted).append(entry)
        if deleted:
            # Pending but gone from the stream: nothing to send. Acknowledged here, or they
            # would fill the head of every later read of the pending list.
            await self.acknowledge(deleted)
        return batch

    async def acknowledge(self, entries: list[Entry] | list[tuple[str, str]]) -> None:
        """Acknowledge and delete entries Kafka holds (whichever relay read them)."""
        by_stream: dict[str, list[str]] = {}
        for item in entries:
            stream, entry_id = (item.stream, item.entry_id) if isinstance(item, Entry) else item
            by_stream.setdefault(stream, []).append(entry_id)
        if not by_stream:
            return
        pipe = self.redis.pipeline(transaction=False)
        for stream, ids in by_stream.items():
            pipe.xack(stream, keys.RELAY_GROUP, *ids)
            pipe.xdel(stream, *ids)
        await pipe.execute()

    async def has_pending(self, streams: list[str], reader: str) -> bool:
        """Whether ``reader`` has entries it read and did not acknowledge, in any stream."""
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xpending(stream, keys.RELAY_GROUP)
        for summary in await pipe.execute():
            for consumer in (summary or {}).get("consumers") or []:
                if str(consumer["name"]) == reader and int(consumer["pending"]) > 0:
                    return True
        return False

    async def abandoned_readers(self, streams: list[str], idle_ms: int, me: str) -> list[str]:
        """Other relays with entries nobody has touched for ``idle_ms``: presumed dead."""
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xpending_range(
                stream, keys.RELAY_GROUP, min="-", max="+", count=self.batch, idle=idle_ms
            )
        readers: set[str] = set()
        for reply in await pipe.execute():
            pending: list[dict[str, Any]] = reply
            readers.update(str(p["consumer"]) for p in pending)
        readers.discard(me)
        return sorted(readers)


async def outbox_streams(redis: Redis) -> list[str]:
    """Every offer's outbox stream, then the streams registered in ``keys.OUTBOXES``."""
    pipe = redis.pipeline(transaction=False)
    pipe.smembers(keys.OFFERS)
    pipe.smembers(keys.OUTBOXES)
    offer_ids, others = cast(tuple[set[str], set[str]], tuple(await pipe.execute()))
    return [OfferKeys(offer_id).outbox for offer_id in sorted(offer_ids)] + sorted(others)


async def register_outbox(redis: Redis, stream: str) -> None:
    """Have the relay read ``stream`` too. Call it before the stream's first entry."""
    await redis.sadd(keys.OUTBOXES, stream)


async def outbox_depth(redis: Redis) -> int:
    """Entries written but not yet acknowledged by Kafka, over every outbox."""
    pipe = redis.pipeline(transaction=False)
    for stream in await outbox_streams(redis):
        pipe.xlen(stream)
    return sum(await pipe.execute())
