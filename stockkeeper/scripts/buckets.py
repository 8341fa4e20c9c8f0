"""Typed wrappers of the bucket scripts of a hot offer: the three steps of a move of units
(give, take, settle; see stockkeeper/buckets.py) and the sync of a bucket's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..keys import OfferKeys
from .registry import Scripts


@dataclass(frozen=True, slots=True)
class Given:
    """bucket_give.lua: ``units`` left the giver and are written down as a transfer."""

    outcome: Literal["given", "empty", "unknown_offer"]
    units: int = 0


@dataclass(frozen=True, slots=True)
class Taken:
    """bucket_take.lua: the receiver's ``available`` after taking (or having taken) a
    transfer."""

    outcome: Literal["taken", "already_taken"]
    available: int


@dataclass(frozen=True, slots=True)
class Synced:
    """bucket_sync.lua: the bucket's state afterwards (a closed bucket stays closed)."""

    outcome: Literal["ok", "unknown_offer"]
    state: str | None = None


async def bucket_give(
    scripts: Scripts, giver: str, transfer_id: str, units: int, receiver: str
) -> Given:
    """Take up to ``units`` off ``giver`` for ``receiver``, written down as ``transfer_id``."""
    g = OfferKeys(giver)
    reply = await scripts.run(
        scripts.bucket_give,
        [g.offer, g.users, g.deadlines, g.transfers],
        [g.hold_prefix, transfer_id, units, receiver],
    )
    match reply[0]:
        case "given":
            return Given("given", int(reply[1]))
        case "empty":
            return Given("empty")
    return Given("unknown_offer")


async def bucket_take(scripts: Scripts, receiver: str, transfer_id: str, units: int) -> Taken:
    """Add a transfer's units to ``receiver``, once per transfer id."""
    r = OfferKeys(receiver)
    reply = await scripts.run(scripts.bucket_take, [r.offer, r.received], [transfer_id, units])
    outcome: Literal["taken", "already_taken"] = "taken" if reply[0] == "taken" else "already_taken"
    return Taken(outcome, int(reply[1]))


async def bucket_settle(scripts: Scripts, giver: str, transfer_id: str) -> int:
    """Cross a taken transfer off ``giver``; the units crossed off (0 when settled before)."""
    g = OfferKeys(giver)
    return int(await scripts.run(scripts.bucket_settle, [g.offer, g.transfers], [transfer_id]))


async def bucket_sync(
    scripts: Scripts, bucket: str, state: str, opens_at: int, closes_at: int
) -> Synced:
    """Give ``bucket`` the offer's state and sale window (epoch ms)."""
    reply = await scripts.run(
        scripts.bucket_sync, [OfferKeys(bucket).offer], [state, opens_at, closes_at]
    )
    if reply[0] == "ok":
        return Synced("ok", reply[1])
    return Synced("unknown_offer")
