"""Typed wrappers of the group buying scripts (group_*.lua): set terms, start or join,
pay, give up, and fail the groups whose window ended. See stockkeeper/groups.py."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, cast

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from ..errors import StockKeeperError
from ..keys import GroupKeys, OfferKeys, parent_of
from ..models import HoldStatus
from .holds import CancelReply
from .loader import preload
from .registry import STOCK_LUA, Scripts

GroupState = Literal["forming", "formed", "failed"]
SetupOutcome = Literal[
    "ok", "unknown_offer", "hot_offer", "price_not_lower", "invalid_state", "groups_started"
]
JoinOutcome = Literal[
    "joined",
    "unknown_offer",
    "closed",
    "paused",
    "not_open",
    "not_group_offer",
    "already_in_group",
    "limit_reached",
    "already_holding",
    "unknown_group",
    "group_full",
    "group_failed",
    "sold_out",
    "id_taken",
]
PayOutcome = Literal[
    "confirmed", "paid", "group_failed", "hold_expired", "already_confirmed", "unknown_hold"
]


@dataclass(frozen=True, slots=True)
class GroupScripts:
    """The group scripts, registered on the stock keeper's Redis client (run through its
    batcher like every stock script)."""

    group_setup: AsyncScript
    group_join: AsyncScript
    group_confirm: AsyncScript
    group_cancel: AsyncScript
    group_fail: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> GroupScripts:
        """Register every group script (with lib.lua's helpers in front)."""
        return cls(**{f.name: STOCK_LUA.register(redis, f.name) for f in fields(cls)})

    async def load(self, redis: Redis) -> None:
        """Load every group script now."""
        await preload(redis, [getattr(self, f.name) for f in fields(self)])


@dataclass(frozen=True, slots=True)
class SetupReply:
    """group_setup.lua: ``detail`` is the offer's price, buckets or state when refused."""

    outcome: SetupOutcome
    detail: str = ""


@dataclass(frozen=True, slots=True)
class JoinReply:
    """group_join.lua: a seat and its hold, or why not."""

    outcome: JoinOutcome
    hold_id: str | None = None
    group_id: str | None = None
    reserved_at: int | None = None
    deadline: int | None = None
    available: int | None = None
    replayed: bool = False
    status: HoldStatus | None = None
    members: int = 0
    size: int = 0
    state: GroupState | None = None
    #: Orders of paid members written because this join formed the group.
    orders_written: int = 0
    units_already: int | None = None
    limit: int | None = None
    opens_at: int | None = None


@dataclass(frozen=True, slots=True)
class PayReply:
    """group_confirm.lua: an order, a payment kept until the group forms, or money owed
    back (a refund_due entry is in the outbox)."""

    outcome: PayOutcome
    order_id: str | None = None
    amount: int = 0
    at: int | None = None
    replayed: bool = False
    late: bool = False
    room_id: str = ""
    group_id: str = ""


@dataclass(frozen=True, slots=True)
class FailReply:
    """group_fail.lua: groups failed by this call, groups members left since the last call,
    units given back and refunds written."""

    failed: tuple[str, ...]
    left: tuple[str, ...]
    units_returned: int
    refunds: int
    available: int
    room_id: str
    #: Groups still forming, and the offer's state: a closed offer with none forming
    #: will never have one again (the sweeper stops walking it).
    forming: int = 0
    state: str = ""


async def group_setup(
    scripts: Scripts,
    gs: GroupScripts,
    offer_id: str,
    price: int,
    size: int,
    window_ms: int,
    open_groups: bool,
) -> SetupReply:
    """Make ``offer_id`` a group offer with these terms."""
    reply = await scripts.run(
        gs.group_setup,
        [OfferKeys(offer_id).offer, GroupKeys(offer_id).all],
        [price, size, window_ms, "1" if open_groups else "0"],
    )
    return SetupReply(cast(SetupOutcome, reply[0]), str(reply[1]) if len(reply) > 1 else "")


async def group_join(
    scripts: Scripts,
    gs: GroupScripts,
    offer_id: str,
    group_id: str,
    *,
    start: bool,
    user_id: str,
    name: str,
    hold_id: str,
    idempotency_key: str,
    idempotency_ttl_s: int,
) -> JoinReply:
    """Start group ``group_id`` (a new id) or join it: a hold at the group price and a seat."""
    k, g = OfferKeys(offer_id), GroupKeys(offer_id)
    reply = await scripts.run(
        gs.group_join,
        [
            k.offer,
            k.users,
            k.deadlines,
            g.group(group_id),
            g.members(group_id),
            g.seats(group_id),
            g.forming,
            g.all,
            g.viewers,
            g.idempotency(user_id, idempotency_key),
            k.outbox,
            k.buyers,
        ],
        [
            user_id,
            name,
            hold_id,
            idempotency_ttl_s,
            group_id,
            "1" if start else "0",
            k.prefix,
            offer_id,
        ],
    )
    return _join_reply(reply)


def _join_reply(reply: list[Any]) -> JoinReply:
    outcome = cast(JoinOutcome, reply[0])
    match outcome:
        case "joined":
            return JoinReply(
                outcome,
                hold_id=reply[1],
                group_id=reply[2],
                reserved_at=int(reply[3]),
                deadline=int(reply[4]),
                available=int(reply[5]),
                replayed=reply[6] == 1,
                status=cast(HoldStatus, reply[7]),
                members=int(reply[8] or 0),
                size=int(reply[9] or 0),
                state=cast(GroupState, reply[10]),
                orders_written=int(reply[11]),
            )
        case "not_open":
            return JoinReply(outcome, opens_at=int(reply[1]) or None)
        case "already_in_group":
            return JoinReply(outcome, group_id=reply[1])
        case "limit_reached":
            return JoinReply(outcome, units_already=int(reply[1]), limit=int(reply[2]))
        case "already_holding":
            return JoinReply(outcome, units_already=int(reply[1]))
        case "group_full":
            return JoinReply(outcome, size=int(reply[1]))
        case "sold_out":
            return JoinReply(outcome, available=int(reply[1]))
        case (
            "unknown_offer"
            | "closed"
            | "paused"
            | "not_group_offer"
            | "unknown_group"
            | "group_failed"
            | "id_taken"
        ):
            return JoinReply(outcome)
    raise StockKeeperError(f"group_join.lua answered {reply!r}, which its wrapper does not know")


async def group_confirm(
    scripts: Scripts, gs: GroupScripts, bucket: str, hold_id: str, user_id: str, payment_ref: str
) -> PayReply:
    """Pay a group member's hold: an order once the group formed, else kept as paid."""
    k = OfferKeys(bucket)
    reply = await scripts.run(
        gs.group_confirm,
        [k.offer, k.users, k.deadlines, k.hold(hold_id), k.outbox, k.buyers],
        [user_id, payment_ref, parent_of(bucket), hold_id, k.prefix],
    )
    match reply[0]:
        case "confirmed":
            return PayReply(
                "confirmed",
                reply[1],
                int(reply[2]),
                int(reply[3]),
                reply[4] == 1,
                reply[5] == 1,
                reply[6],
                reply[7],
            )
        case "paid":
            return PayReply(
                "paid",
                reply[1],
                int(reply[2]),
                int(reply[3]),
                reply[4] == 1,
                False,
                reply[5],
                reply[6],
            )
        case "group_failed" | "hold_expired":
            return PayReply(reply[0], room_id=reply[1], group_id=reply[2])
        case "already_confirmed":
            return PayReply("already_confirmed", order_id=reply[1], group_id=reply[2])
        case "unknown_hold":
            return PayReply("unknown_hold")
    raise StockKeeperError(f"group_confirm.lua answered {reply!r}, which its wrapper does not know")


async def group_cancel(
    scripts: Scripts, gs: GroupScripts, bucket: str, hold_id: str, user_id: str
) -> CancelReply:
    """Give a group member's hold up; before the group forms the seat is freed too."""
    k = OfferKeys(bucket)
    reply = await scripts.run(
        gs.group_cancel,
        [k.offer, k.users, k.deadlines, k.hold(hold_id)],
        [user_id, hold_id, k.hold_prefix],
    )
    match reply[0]:
        case "cancelled":
            return CancelReply("cancelled", available=int(reply[1]))
        case "expired":
            return CancelReply("expired")
        case "already_confirmed":
            return CancelReply("already_confirmed", order_id=reply[1])
    return CancelReply("unknown_hold")


async def group_fail(scripts: Scripts, gs: GroupScripts, offer_id: str, batch: int) -> FailReply:
    """Fail up to ``batch`` groups of ``offer_id`` whose window ended before they filled."""
    k, g = OfferKeys(offer_id), GroupKeys(offer_id)
    reply = await scripts.run(
        gs.group_fail,
        [k.offer, k.users, k.deadlines, g.forming, g.viewers, k.outbox, g.changed],
        [k.prefix, batch, offer_id],
    )
    return FailReply(
        tuple(reply[0]),
        tuple(reply[1]),
        int(reply[2]),
        int(reply[3]),
        int(reply[4]),
        reply[5],
        int(reply[6]),
        reply[7],
    )
