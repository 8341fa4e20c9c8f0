"""Typed wrappers of the hold scripts: reserve, replay, confirm, cancel, expire.

``hold_reserve`` is the buy button's path, and ``hold_replay`` its path while an offer is
sold out: their keys and shared arguments are built once per bucket, and presses on one
bucket that arrive together share one merged script call (batcher.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from ..benefits import Benefits
from ..errors import StockKeeperError
from ..keys import OfferKeys, parent_of
from ..models import ExpireResult, ReserveOutcome, ReserveResult
from .registry import Scripts


@dataclass(frozen=True, slots=True)
class ConfirmReply:
    """hold_confirm.lua. ``confirmed``: an order (``replayed`` when this payment had made
    it already, ``late`` when the hold had lapsed and its units were taken again);
    ``hold_expired`` and ``already_confirmed``: the payment is owed back (a refund_due
    entry is in the outbox); ``short``: a late payment found too few units in a bucket
    that may be refilled, and nothing was written; ``lock_lost`` and ``benefit_refused``:
    a coupon or credit could not be booked (``token`` / ``reason``), nothing was written."""

    outcome: Literal[
        "confirmed",
        "hold_expired",
        "already_confirmed",
        "short",
        "unknown_hold",
        "lock_lost",
        "benefit_refused",
    ]
    order_id: str | None = None
    quantity: int = 0
    amount: int = 0
    confirmed_at: int | None = None
    replayed: bool = False
    late: bool = False
    room_id: str = ""
    discount: int = 0
    credit: int = 0
    coupon_id: str = ""
    #: ``lock_lost``: the token; ``benefit_refused``: "wrong_offer" or "min_spend".
    token: str = ""
    reason: str = ""
    min_spend: int = 0


@dataclass(frozen=True, slots=True)
class CancelReply:
    """hold_cancel.lua: ``available`` after a cancel, the order of a paid hold."""

    outcome: Literal["cancelled", "expired", "already_confirmed", "unknown_hold"]
    available: int | None = None
    order_id: str | None = None


class ReplayReply(msgspec.Struct, frozen=True):
    """hold_replay.lua: the hold an earlier press with this key made (``None`` when no
    press with it reserved), and the units the bucket has left."""

    hold: ReserveResult | None
    available: int


ReserveCall = tuple[tuple[str, str, str], tuple[str, int]]


@functools.lru_cache(maxsize=4096)
def _reserve_call(bucket: str, idempotency_ttl_s: int) -> ReserveCall:
    """The reserve script's keys and shared arguments for a bucket, built once per bucket
    rather than on every press."""
    k = OfferKeys(bucket)
    return (k.offer, k.users, k.deadlines), (k.prefix, idempotency_ttl_s)


async def hold_reserve(
    scripts: Scripts,
    bucket: str,
    user_id: str,
    quantity: int,
    hold_id: str,
    idempotency_key: str,
    idempotency_ttl_s: int,
) -> ReserveResult:
    """Hold ``quantity`` units of ``bucket`` for a buyer under the new ``hold_id``, or
    answer with the hold an earlier request with the same key made."""
    keys, shared = _reserve_call(bucket, idempotency_ttl_s)
    reply = await scripts.batcher.call_merged(
        scripts.hold_reserve, keys, shared, (user_id, quantity, hold_id, idempotency_key)
    )
    return _reserve_result(reply, _records_stream(bucket))


@functools.lru_cache(maxsize=4096)
def _records_stream(bucket: str) -> str:
    return OfferKeys(bucket).records


@functools.lru_cache(maxsize=4096)
def _replay_call(bucket: str) -> tuple[tuple[str], tuple[str]]:
    """The lookup script's keys and shared arguments for a bucket, built once per bucket."""
    k = OfferKeys(bucket)
    return (k.offer,), (k.prefix,)


async def hold_replay(
    scripts: Scripts, bucket: str, user_id: str, idempotency_key: str
) -> ReplayReply:
    """The hold a buyer's press with this idempotency key made in ``bucket``, as it is now,
    without reserving anything. Lookups on one bucket that arrive together share one
    merged script call."""
    keys, shared = _replay_call(bucket)
    reply = await scripts.batcher.call_merged(
        scripts.hold_replay, keys, shared, (user_id, idempotency_key)
    )
    if reply[0] == "reserved":
        return ReplayReply(_reserve_result(reply), int(reply[5]))
    return ReplayReply(None, int(reply[1]))


def _reserve_result(reply: list[Any], records: str | None = None) -> ReserveResult:
    """A reserve or replay script's reply; ``records``: the stream a new hold's record is in."""
    outcome: ReserveOutcome = reply[0]  # (not ``cast``: a call on every press)
    match outcome:
        case "reserved":
            return ReserveResult(
                outcome,
                hold_id=reply[1],
                quantity=int(reply[2]),
                reserved_at=int(reply[3]),
                deadline=int(reply[4]),
                available=int(reply[5]),
                replayed=reply[6] == 1,
                status=reply[7],
                record=(records, reply[8]) if records and len(reply) > 8 else None,
            )
        case "sold_out":
            return ReserveResult(outcome, available=int(reply[1]))
        case "limit_reached":
            return ReserveResult(
                outcome, units_already=int(reply[1]), limit=int(reply[2]), available=int(reply[3])
            )
        case "not_open":
            return ReserveResult(outcome, opens_at=int(reply[1]) or None)
        case "invalid":
            return ReserveResult(outcome, reason=reply[1])
        case "unknown_offer" | "closed" | "paused":
            return ReserveResult(outcome)
    raise _unexpected("hold_reserve", reply)


async def hold_confirm(
    scripts: Scripts,
    bucket: str,
    hold_id: str,
    user_id: str,
    payment_ref: str,
    *,
    may_refill: bool,
    benefits: Benefits | None = None,
) -> ConfirmReply:
    """Turn a paid hold into an order (order id ``o<hold id>``) with its outbox entry.
    With ``may_refill`` a late payment short of units answers ``short`` rather than
    owing the money back; ``benefits`` (a locked coupon, credit) are booked with it."""
    k = OfferKeys(bucket)
    args: list[str | int] = [
        user_id,
        payment_ref,
        f"o{hold_id}",
        parent_of(bucket),
        hold_id,
        int(may_refill),
    ]
    if benefits is not None:
        args += benefits.script_args()
    reply = await scripts.run(
        scripts.hold_confirm,
        [k.offer, k.users, k.deadlines, k.hold(hold_id), k.outbox, k.buyers],
        args,
    )
    match reply[0]:
        case "confirmed":
            return ConfirmReply(
                "confirmed",
                order_id=reply[1],
                quantity=int(reply[2]),
                amount=int(reply[3]),
                confirmed_at=int(reply[4]),
                replayed=reply[5] == 1,
                late=reply[6] == 1,
                room_id=reply[7],
                discount=int(reply[8]) if len(reply) > 8 else 0,
                credit=int(reply[9]) if len(reply) > 9 else 0,
                coupon_id=reply[10] if len(reply) > 10 else "",
            )
        case "hold_expired":
            return ConfirmReply("hold_expired", quantity=int(reply[1]), room_id=reply[2])
        case "already_confirmed":
            return ConfirmReply("already_confirmed", order_id=reply[1])
        case "short":
            return ConfirmReply("short", quantity=int(reply[1]))
        case "unknown_hold":
            return ConfirmReply("unknown_hold")
        case "lock_lost":
            return ConfirmReply("lock_lost", token=reply[1])
        case "benefit_refused":
            return ConfirmReply("benefit_refused", reason=reply[1], min_spend=int(reply[2]))
    raise _unexpected("hold_confirm", reply)


async def hold_cancel(scripts: Scripts, bucket: str, hold_id: str, user_id: str) -> CancelReply:
    """Give a buyer's hold up; its units go back on sale at once."""
    k = OfferKeys(bucket)
    reply = await scripts.run(
        scripts.hold_cancel, [k.offer, k.users, k.deadlines, k.hold(hold_id)], [user_id, hold_id]
    )
    match reply[0]:
        case "cancelled":
            return CancelReply("cancelled", available=int(reply[1]))
        case "expired":
            return CancelReply("expired")
        case "already_confirmed":
            return CancelReply("already_confirmed", order_id=reply[1])
        case "unknown_hold":
            return CancelReply("unknown_hold")
    raise _unexpected("hold_cancel", reply)


async def holds_expire(scripts: Scripts, bucket: str, batch: int) -> ExpireResult:
    """Release up to ``batch`` holds of ``bucket`` whose payment deadline has passed."""
    k = OfferKeys(bucket)
    reply = await scripts.run(
        scripts.holds_expire, [k.offer, k.users, k.deadlines], [k.hold_prefix, batch]
    )
    pairs = reply[5:]
    return ExpireResult(
        int(reply[0]),
        int(reply[1]),
        int(reply[2] or 0),
        room_id=reply[3],
        sent_pending=int(reply[4] or 0),
        expired=tuple(zip(pairs[::2], pairs[1::2], strict=True)),
    )


def _unexpected(script: str, reply: object) -> StockKeeperError:
    # A reply no wrapper knows is a bug between a script and its wrapper: a buyer who just
    # paid must never hear "unknown hold" because of it.
    return StockKeeperError(f"{script}.lua answered {reply!r}, which its wrapper does not know")
