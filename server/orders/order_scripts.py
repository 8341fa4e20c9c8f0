"""Typed wrappers of the orders package's Lua scripts (scripts/*.lua).

Each sends its keys in KEYS and decodes the reply into a small result; nothing else reads
a reply of these scripts. Loaded by the repository's one loader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgpack
from redis.asyncio import Redis

from stockkeeper.batcher import ScriptBatcher
from stockkeeper.errors import redis_call
from stockkeeper.recorder import BuyerRecord
from stockkeeper.scripts.loader import LuaFolder, preload

from . import keys
from .keys import OrderKeys, PrizeOrderKeys

ORDERS_LUA = LuaFolder("server.orders", "scripts")

#: Most holds kept in one buyer's index (the oldest fall off).
MAX_PURCHASES = 500
#: Record ids one deletion takes (Lua's unpack has a limit of a few thousand).
FORGET_AT_ONCE = 1000

StatusOutcome = Literal["applied", "duplicate", "stale", "unknown_order"]


@dataclass(frozen=True, slots=True)
class Tracking:
    """An order's fulfilment status as it stands after a status event."""

    user_id: str
    room_id: str
    status: str
    at_ms: int
    carrier: str
    tracking: str
    #: Changes made so far, and the last of them sent to the buyer's screens.
    version: int
    pushed: int


@dataclass(frozen=True, slots=True)
class StatusReply:
    """What order_status.lua did with one event, and the order's tracking now."""

    outcome: StatusOutcome
    tracking: Tracking | None = None


class OrderScripts:
    """The orders scripts registered on one Redis client (one that decodes strings)."""

    def __init__(self, redis: Redis, batcher: ScriptBatcher | None = None) -> None:
        """``batcher``: the stock keeper's, so that records and their deletions ride in the
        pipelines that carry the presses (one round trip a moment for all of it)."""
        self._record = ORDERS_LUA.register(redis, "purchase_record")
        self._forget = ORDERS_LUA.register(redis, "records_forget")
        self._status = ORDERS_LUA.register(redis, "order_status")
        self._pushed = ORDERS_LUA.register(redis, "order_pushed")
        self._own_batcher = batcher is None
        self.batcher = batcher or ScriptBatcher(redis)
        for script in (self._record, self._forget):
            self.batcher.may_resend(script)

    async def preload(self, redis: Redis) -> None:
        """Load every script now."""
        await preload(redis, [self._record, self._forget, self._status, self._pushed])

    async def close(self) -> None:
        """Wait for the records in flight (the shared batcher is closed by its owner)."""
        if self._own_batcher:
            await self.batcher.close()

    async def record(self, user_id: str, hold_id: str, at_ms: int) -> bool:
        """Add a hold to a buyer's index; True when it was not there yet."""
        group = keys.buyer_group(user_id)
        reply = await self.batcher.call_merged(
            self._record,
            [keys.records(group)],
            [keys.purchases_prefix(group), MAX_PURCHASES],
            [user_id, hold_id, at_ms],
        )
        return bool(reply)

    async def record_all(self, records: Sequence[BuyerRecord]) -> None:
        """Add many holds to their buyers' indexes: one script call per group of buyers."""
        by_group: dict[int, list[list[str | int]]] = {}
        for user_id, hold_id, at_ms in records:
            by_group.setdefault(keys.buyer_group(user_id), []).append([user_id, hold_id, at_ms])
        await asyncio.gather(
            *(
                self.batcher.submit(
                    self._record,
                    [keys.records(group)],
                    [keys.purchases_prefix(group), MAX_PURCHASES, msgpack.packb(items)],
                )
                for group, items in by_group.items()
            )
        )

    async def forget(self, entries: Sequence[tuple[str, str]]) -> None:
        """Delete records (stream, entry id) from their offers' records streams."""
        by_stream: dict[str, list[str]] = {}
        for stream, entry_id in entries:
            by_stream.setdefault(stream, []).append(entry_id)
        await asyncio.gather(
            *(
                self.batcher.submit(
                    self._forget, [stream], [msgpack.packb(ids[at : at + FORGET_AT_ONCE])]
                )
                for stream, ids in by_stream.items()
                for at in range(0, len(ids), FORGET_AT_ONCE)
            )
        )

    async def apply_status(
        self,
        order: OrderKeys | PrizeOrderKeys,
        status: str,
        rank: int,
        at_ms: int,
        carrier: str,
        tracking: str,
    ) -> StatusReply:
        """Move an order's tracking forward with one status event (never back). A prize
        order's keys stand in for a purchase's (keys.py), so the same script serves both."""
        reply: list[Any] = await redis_call(
            self._status(
                keys=[order.hold, order.offer, order.tracking],
                args=[order.order_id, status, rank, at_ms, carrier, tracking],
            )
        )
        if reply[0] == "unknown_order":
            return StatusReply("unknown_order")
        outcome, user_id, room_id, now_status, at, now_carrier, now_tracking, version, pushed = (
            reply
        )
        return StatusReply(
            outcome,
            Tracking(
                user_id=user_id,
                room_id=room_id,
                status=now_status,
                at_ms=int(at),
                carrier=now_carrier,
                tracking=now_tracking,
                version=int(version),
                pushed=int(pushed),
            ),
        )

    async def pushed(self, order: OrderKeys | PrizeOrderKeys, version: int) -> None:
        """Record that the buyer's screens got the order's tracking up to ``version``."""
        await redis_call(self._pushed(keys=[order.tracking], args=[version]))
