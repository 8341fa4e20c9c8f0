"""Hot offers split into buckets, so one offer's rush spreads over several Redis shards.

An offer with K buckets is K complete offer records: bucket 0 is the offer itself, bucket
``i`` lives under its own hash tag (``{offer:ID.i}``) and so, on a cluster, in another slot.
Every buyer always reserves in one home bucket, chosen by a hash of the user id. A buyer's
holds, orders and idempotency keys therefore all live in one slot, and the per-user limit
stays exact with no cross-slot step.

When a home bucket runs out, units move to it from the fullest other buckets. Each move
is three atomic steps, each in one slot:

1. ``bucket_give``: the giver takes the units off its stock and writes the transfer down;
2. ``bucket_take``: the receiver adds them, once per transfer id;
3. ``bucket_settle``: the giver crosses the transfer off.

Units are taken from the giver before they are added to the receiver, so a unit can never
be on sale twice. If a process dies between the steps, the transfer stays written down
and the sweeper finishes it. The units are off sale for that moment and are never lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from redis.asyncio import Redis

from .errors import redis_call
from .keys import OfferKeys, bucket_id, bucket_ids
from .models import Offer
from .scripts.buckets import bucket_give, bucket_settle, bucket_sync, bucket_take
from .scripts.registry import Scripts

#: Enough to spread one offer over every shard of a large cluster.
MAX_BUCKETS = 64
#: Counters summed over the buckets to show the offer as one.
COUNTERS = ("total", "available", "held", "sold", "reservations", "orders", "sent_pending")

#: How long a refill waits for units in transit between other buckets to land.
TRANSIT_CHECKS = 20
TRANSIT_WAIT_S = 0.01


def home_index(user_id: str, count: int) -> int:
    """The bucket a buyer always reserves in. Every process computes the same index."""
    return zlib.crc32(user_id.encode()) % count


def split_stock(stock: int, count: int) -> list[int]:
    """Units per bucket at creation: as even as possible, the remainder to the first."""
    share, extra = divmod(stock, count)
    return [share + (1 if i < extra else 0) for i in range(count)]


class Buckets:
    """Bucket counts, moves of units between buckets, and the sums shown to people; and each
    offer's room, read with its bucket count."""

    def __init__(self, redis: Redis, scripts: Scripts) -> None:
        self._redis = redis
        self._scripts = scripts
        #: An offer's bucket count never changes after creation, so it is read once.
        self._counts: dict[str, int] = {}
        #: Nor does an offer's room (read with the count, for the room's ban list).
        self._rooms: dict[str, str] = {}
        self._lookups: dict[str, asyncio.Task[int]] = {}
        self._refills: dict[str, asyncio.Task[int]] = {}
        #: Units wanted by presses waiting for a bucket's next refill.
        self._demand: dict[str, int] = {}
        self._ids = random.Random(secrets.randbits(128))
        #: Units moved between buckets by this process (for benchmarks and logs).
        self.units_moved = 0

    def remember(self, offer_id: str, count: int) -> None:
        """Note a new offer's bucket count, so its first presses need not read it."""
        self._counts[offer_id] = count

    def known_count(self, offer_id: str) -> int | None:
        """The bucket count when this process has read it already (no await: the press
        path asks this first)."""
        return self._counts.get(offer_id)

    async def count(self, offer_id: str) -> int:
        """How many buckets an offer has (1 for an ordinary offer or an unknown id)."""
        known = self._counts.get(offer_id)
        if known is not None:
            return known
        # The first presses of a rush all ask at once: one read answers them all.
        return await _shared(self._lookups, offer_id, lambda: self._read_count(offer_id))

    def known_room(self, offer_id: str) -> str | None:
        """The room an offer is sold in, when this process has read it already (no await)."""
        return self._rooms.get(offer_id)

    async def room(self, offer_id: str) -> str | None:
        """The room an offer is sold in; None for an unknown offer."""
        room_id = self._rooms.get(offer_id)
        if room_id is None:
            await _shared(self._lookups, offer_id, lambda: self._read_count(offer_id))
            room_id = self._rooms.get(offer_id)
        return room_id

    async def _read_count(self, offer_id: str) -> int:
        found, count, room_id = await redis_call(
            self._redis.hmget(OfferKeys(offer_id).offer, "id", "buckets", "room_id")
        )
        if found is None:
            # Not created yet: remembering 1 could put a buyer in the wrong home bucket.
            return 1
        self._rooms[offer_id] = cast(str, room_id)
        self._counts[offer_id] = int(count or 1)
        return self._counts[offer_id]

    def home(self, offer_id: str, user_id: str, count: int) -> str:
        """The bucket a buyer always reserves in (see home_index)."""
        return bucket_id(offer_id, home_index(user_id, count))

    # ---------------------------------------------------------------- moves

    async def refill(self, offer_id: str, home: str, count: int, quantity: int) -> int:
        """Move units into ``home`` from the fullest other buckets; the units moved (0
        when every other bucket is empty). Presses that find the same bucket empty at the
        same time share one refill, which moves what they want together."""
        # A merged batch answers all its presses in one step, and they all get here before
        # the refill task first runs: it sees the whole batch's demand.
        self._demand[home] = self._demand.get(home, 0) + quantity
        return await _shared(self._refills, home, lambda: self._refill(offer_id, home, count))

    async def _refill(self, offer_id: str, home: str, count: int) -> int:
        # Presses that arrive while this runs wait for it, then ask again with their demand.
        quantity = self._demand.pop(home, 1)
        for _ in range(TRANSIT_CHECKS):
            moved, in_transit = await self._refill_once(offer_id, home, count, quantity)
            if moved or not in_transit:
                return moved
            # The last units are on their way between two other buckets: wait for them to
            # land rather than call the offer sold out while they are still for sale.
            await asyncio.sleep(TRANSIT_WAIT_S)
        return 0

    async def _refill_once(
        self, offer_id: str, home: str, count: int, quantity: int
    ) -> tuple[int, bool]:
        """Units moved into ``home``, and whether units were in transit elsewhere."""
        levels = await self.levels(offer_id, count)
        in_transit = any(pending for _, pending, _ in levels)
        moved = 0
        for available, _, giver in levels:
            if available < 1 or moved >= quantity:
                break
            if giver == home:
                continue
            # Half of what the giver has, so stock follows demand in few moves.
            moved += await self._move(giver, home, max(quantity - moved, (available + 1) // 2))
        return moved, in_transit

    async def levels(self, offer_id: str, count: int) -> list[tuple[int, int, str]]:
        """(available, sent_pending, bucket id) of every bucket, fullest first."""
        buckets = bucket_ids(offer_id, count)
        pipe = self._redis.pipeline(transaction=False)
        for bucket in buckets:
            pipe.hmget(OfferKeys(bucket).offer, "available", "sent_pending")
        rows = await redis_call(pipe.execute())
        return sorted(
            ((int(a or 0), int(p or 0), b) for (a, p), b in zip(rows, buckets, strict=True)),
            reverse=True,
        )

    async def _move(self, giver: str, receiver: str, units: int) -> int:
        transfer_id = f"{int(time.time() * 1000)}-{self._ids.getrandbits(64):016x}"
        given = await bucket_give(self._scripts, giver, transfer_id, units, receiver)
        if given.outcome != "given":
            return 0
        await self._finish(giver, transfer_id, receiver, given.units)
        self.units_moved += given.units
        return given.units

    async def _finish(self, giver: str, transfer_id: str, receiver: str, units: int) -> None:
        await bucket_take(self._scripts, receiver, transfer_id, units)
        await bucket_settle(self._scripts, giver, transfer_id)

    async def finish_transfers(self, giver: str) -> int:
        """Finish every transfer ``giver`` wrote down and nobody settled (a process died
        between the steps); the units delivered. Safe alongside a move in progress."""
        written = cast(
            dict[str, str], await redis_call(self._redis.hgetall(OfferKeys(giver).transfers))
        )
        delivered = 0
        for transfer_id, value in written.items():
            receiver, units = value.rsplit(" ", 1)
            await self._finish(giver, transfer_id, receiver, int(units))
            delivered += int(units)
        return delivered

    # ------------------------------------------------------ lifecycle, sums

    async def sync(self, offer_id: str, count: int) -> None:
        """Give every bucket the offer's state and sale window (bucket 0 decides them)."""
        state, opens_at, closes_at = cast(
            list[str | None],
            await redis_call(
                self._redis.hmget(OfferKeys(offer_id).offer, "state", "opens_at", "closes_at")
            ),
        )
        if state is None:
            return
        await asyncio.gather(
            *(
                bucket_sync(self._scripts, bucket, state, int(opens_at or 0), int(closes_at or 0))
                for bucket in bucket_ids(offer_id, count)[1:]
            )
        )

    async def repair(self, offer_id: str, count: int) -> bool:
        """Re-sync buckets whose state differs from the offer's (a request died after
        changing bucket 0); True when some did."""
        pipe = self._redis.pipeline(transaction=False)
        for bucket in bucket_ids(offer_id, count):
            pipe.hmget(OfferKeys(bucket).offer, "state", "opens_at", "closes_at")
        main, *rest = await redis_call(pipe.execute())
        stale = [row for row in rest if row[0] != "closed" and row != main]
        if main[0] is None or not stale:
            return False
        await self.sync(offer_id, count)
        return True

    async def with_bucket_counts(self, offers: list[Offer]) -> list[Offer]:
        """The offers with every bucket's units and counters added to bucket 0's."""
        split = [offer for offer in offers if offer.buckets > 1]
        if not split:
            return offers
        pipe = self._redis.pipeline(transaction=False)
        for offer in split:
            for bucket in bucket_ids(offer.id, offer.buckets)[1:]:
                pipe.hmget(OfferKeys(bucket).offer, *COUNTERS)
        rows = iter(await redis_call(pipe.execute()))
        summed: dict[str, Offer] = {}
        for offer in split:
            sums = dict.fromkeys(COUNTERS, 0)
            for _ in range(1, offer.buckets):
                for name, value in zip(COUNTERS, next(rows), strict=True):
                    sums[name] += int(value or 0)
            # Units on their way between buckets are still for sale: count them available.
            pending = sums.pop("sent_pending")
            summed[offer.id] = dataclasses.replace(
                offer,
                total=offer.total + sums["total"] + pending,
                available=offer.available + sums["available"] + pending,
                held=offer.held + sums["held"],
                sold=offer.sold + sums["sold"],
                reservations=offer.reservations + sums["reservations"],
                orders=offer.orders + sums["orders"],
            )
        return [summed.get(offer.id, offer) for offer in offers]


def _shared(
    tasks: dict[str, asyncio.Task[int]], key: str, start: Callable[[], Coroutine[Any, Any, int]]
) -> Awaitable[int]:
    """One task per key for every caller that asks while it runs. A caller that gives up
    does not stop it half-way (a move of units must finish)."""
    task = tasks.get(key)
    if task is None:
        task = asyncio.create_task(start())
        tasks[key] = task

        def done(finished: asyncio.Task[int]) -> None:
            tasks.pop(key, None)
            if not finished.cancelled():
                finished.exception()  # retrieved here even if every waiter gave up

        task.add_done_callback(done)
    return asyncio.shield(task)
