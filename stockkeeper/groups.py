"""Group buying (拼团): a viewer starts a group at a lower price, friends join, and the deal
holds only if the group fills within its window.

A group belongs to one offer and lives under the offer's hash tag, so a member's seat and
hold change in one Lua script (scripts/group_*.lua). Joining takes both; the N-th member
forms the group, and only then do paid members' orders reach the outbox (and Kafka). A
group whose window ends first fails once: units back, paid members refunded
(``refund_due``, reason ``group_failed``), no order ever. Hot offers split into buckets
take no groups: their units live in several slots, a seat and its unit could not change in
one step. See docs/groups.md.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from . import keys
from .cancellation import stop_if_cancelled
from .errors import StockKeeperError, StockUnavailable, UnknownHold, redis_call
from .ids import OFFER_ID, offer_of_group, offer_of_hold
from .keys import GroupKeys
from .models import ConfirmResult
from .recorder import NoRecorder, PurchaseRecorder
from .scripts.groups import (
    FailReply,
    GroupScripts,
    GroupState,
    JoinReply,
    SetupReply,
    group_cancel,
    group_confirm,
    group_fail,
    group_join,
    group_setup,
)
from .scripts.holds import CancelReply
from .scripts.registry import Scripts
from .settings import StockSettings

log = logging.getLogger(__name__)

MIN_SIZE, MAX_SIZE = 2, 50
MIN_WINDOW_S, MAX_WINDOW_S = 60, 3600
#: Groups one sweep fails per offer (the rest on the next pass).
FAIL_BATCH = 200
#: New group ids drawn for one start before giving up (48 random bits: a second draw is
#: already rare; a tenth would mean a broken generator).
ID_DRAWS = 10

Notify = Callable[..., None]
#: Tells every process an offer's units came back (lowers their sold-out flags).
PublishStock = Callable[[str, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a group, as the room sees them."""

    user_id: str
    name: str
    joined_at: int


@dataclass(frozen=True, slots=True)
class Group:
    """A buying group: terms, state and members (oldest first)."""

    id: str
    offer_id: str
    room_id: str
    state: GroupState
    size: int
    price: int
    members: tuple[Member, ...]
    paid: int
    open: bool
    leader_name: str
    created_at: int
    ends_at: int
    formed_at: int
    failed_at: int

    @property
    def seats_left(self) -> int:
        """Seats still free (0 once formed)."""
        return 0 if self.state != "forming" else max(self.size - len(self.members), 0)


class GroupNews(Protocol):
    """Told of groups the sweeper changed (failed, or a member left by a lapsed hold)."""

    async def groups_changed(self, failed: list[Group], left: list[Group]) -> None:
        """Announce these groups' new state."""


class Groups:
    """Every group operation of the stock keeper (one per keeper)."""

    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        settings: StockSettings,
        changed: Callable[[str], None],
        notify: Notify,
        publish_stock: PublishStock | None = None,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._settings = settings
        self._changed = changed
        self._notify = notify
        self._publish_stock = publish_stock
        self.scripts = GroupScripts.register(redis)
        #: Keeps each buyer's holds for "my orders" (the app sets it; see recorder.py).
        self.recorder: PurchaseRecorder = NoRecorder()
        self._ids = random.Random(secrets.randbits(128))

    async def load(self) -> None:
        """Load the group scripts into Redis."""
        await redis_call(self.scripts.load(self._redis))

    # ------------------------------------------------------------------ terms

    async def setup(
        self, offer_id: str, *, price: int, size: int, window_s: int, open_groups: bool
    ) -> SetupReply:
        """Make an offer a group offer: ``size`` members (2-50) at ``price`` (below the
        offer's) within ``window_s`` seconds (1-60 minutes) of a group's start."""
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"group size must be {MIN_SIZE} to {MAX_SIZE}")
        if not MIN_WINDOW_S <= window_s <= MAX_WINDOW_S:
            raise ValueError(f"group window must be {MIN_WINDOW_S} to {MAX_WINDOW_S} seconds")
        if not OFFER_ID.match(offer_id):
            return SetupReply("unknown_offer")
        # Indexed before the terms exist: the sweeper must never miss an offer with groups.
        await redis_call(self._redis.sadd(keys.GROUP_OFFERS, offer_id))
        reply = await group_setup(
            self._scripts, self.scripts, offer_id, price, size, window_s * 1000, open_groups
        )
        if reply.outcome == "ok":
            self._changed(offer_id)
        return reply

    # ------------------------------------------------------------ start, join

    async def start(
        self, offer_id: str, user_id: str, name: str, idempotency_key: str
    ) -> JoinReply:
        """Start a new group of a group offer: the starter's hold and first seat."""
        if not OFFER_ID.match(offer_id):
            return JoinReply("unknown_offer")
        for _ in range(ID_DRAWS):
            group_id = f"{offer_id}-{self._ids.getrandbits(48):012x}"
            reply = await self._join(offer_id, group_id, True, user_id, name, idempotency_key)
            if reply.outcome != "id_taken":
                return reply
        raise StockKeeperError(f"No free group id for offer {offer_id} in {ID_DRAWS} draws")

    async def join(self, group_id: str, user_id: str, name: str, idempotency_key: str) -> JoinReply:
        """Take a seat in a forming group (and a hold at the group price)."""
        offer_id = offer_of_group(group_id)
        if offer_id is None:
            return JoinReply("unknown_group")
        return await self._join(offer_id, group_id, False, user_id, name, idempotency_key)

    async def _join(
        self, offer_id: str, group_id: str, start: bool, user_id: str, name: str, key: str
    ) -> JoinReply:
        # A secret-free PRNG as in keeper.reserve; "g" marks a group member's hold.
        hold_id = f"{offer_id}-g{self._ids.getrandbits(64):016x}"
        reply = await group_join(
            self._scripts,
            self.scripts,
            offer_id,
            group_id,
            start=start,
            user_id=user_id,
            name=name,
            hold_id=hold_id,
            idempotency_key=key,
            idempotency_ttl_s=self._settings.idempotency_ttl_s,
        )
        if reply.outcome == "joined" and not reply.replayed:
            self._changed(offer_id)
        if reply.outcome == "joined" and reply.hold_id is not None:
            # Replays too: a retry heals a record lost to a crash (recorder.py).
            await self.recorder.record(user_id, reply.hold_id, reply.reserved_at or 0)
        return reply

    # ------------------------------------------------------------ pay, cancel

    async def confirm(self, hold_id: str, user_id: str, payment_ref: str) -> ConfirmResult:
        """Pay a group member's hold (StockKeeper.confirm sends group holds here)."""
        offer_id, bucket = _offer_of(hold_id)
        reply = await group_confirm(
            self._scripts, self.scripts, bucket, hold_id, user_id, payment_ref
        )
        match reply.outcome:
            case "unknown_hold":
                raise UnknownHold(hold_id)
            case "already_confirmed":
                return ConfirmResult(
                    "already_confirmed",
                    order_id=reply.order_id,
                    refund_due=True,
                    group_id=reply.group_id,
                )
            case "hold_expired" | "group_failed":
                self._notify(
                    reply.room_id,
                    user_id,
                    status=reply.outcome,
                    hold_id=hold_id,
                    offer_id=offer_id,
                    refund_due=True,
                )
                return ConfirmResult(
                    reply.outcome,
                    quantity=1,
                    refund_due=True,
                    room_id=reply.room_id,
                    group_id=reply.group_id,
                )
        result = ConfirmResult(
            reply.outcome,
            order_id=reply.order_id,
            quantity=1,
            amount=reply.amount,
            confirmed_at=reply.at,
            replayed=reply.replayed,
            late=reply.late,
            room_id=reply.room_id,
            group_id=reply.group_id,
        )
        if not result.replayed:
            self._changed(offer_id)
            self._notify(
                result.room_id,
                user_id,
                status=reply.outcome,
                hold_id=hold_id,
                offer_id=offer_id,
                order_id=result.order_id,
                quantity=1,
                amount=result.amount,
                group_id=reply.group_id,
            )
        return result

    async def cancel(self, hold_id: str, user_id: str) -> CancelReply:
        """Give a group member's hold up (StockKeeper.cancel sends group holds here)."""
        offer_id, bucket = _offer_of(hold_id)
        reply = await group_cancel(self._scripts, self.scripts, bucket, hold_id, user_id)
        if reply.outcome == "cancelled":
            self._changed(offer_id)
        return reply

    # ------------------------------------------------------------------ reads

    async def get(self, group_id: str) -> Group | None:
        """A group with its members, or None when there is none."""
        offer_id = offer_of_group(group_id)
        if offer_id is None:
            return None
        found = await self.read(offer_id, [group_id])
        return found[0] if found else None

    async def of_offer(self, offer_id: str) -> list[Group]:
        """Every group of an offer, oldest first."""
        ids = await redis_call(self._redis.zrange(GroupKeys(offer_id).all, 0, -1))
        return await self.read(offer_id, cast(list[str], ids))

    async def open_groups(self, offer_id: str, limit: int = 20) -> list[Group]:
        """Up to ``limit`` forming open groups of an offer with a member and a free seat,
        the one closest to full first (then the one ending soonest)."""
        g = GroupKeys(offer_id)
        ids = cast(list[str], await redis_call(self._redis.zrange(g.forming, 0, -1)))
        pipe = self._redis.pipeline(transaction=False)
        for group_id in ids:
            pipe.hmget(g.group(group_id), "members", "size", "open", "ends_at")
        rows = await redis_call(pipe.execute())
        ranked = sorted(
            (int(size) - int(members), int(ends_at), group_id)
            for group_id, (members, size, is_open, ends_at) in zip(ids, rows, strict=True)
            if members is not None and is_open == "1" and 0 < int(members) < int(size)
        )
        groups = await self.read(offer_id, [group_id for *_, group_id in ranked[:limit]])
        return [group for group in groups if group.state == "forming" and group.seats_left > 0]

    async def read(self, offer_id: str, group_ids: list[str]) -> list[Group]:
        """These groups of an offer (missing ones left out), with their members."""
        g = GroupKeys(offer_id)
        pipe = self._redis.pipeline(transaction=False)
        for group_id in group_ids:
            pipe.hgetall(g.group(group_id))
            pipe.zrange(g.members(group_id), 0, -1, withscores=True)
            pipe.hgetall(g.seats(group_id))
        rows = await redis_call(pipe.execute())
        groups = []
        for i in range(0, len(rows), 3):
            raw, members, seats = rows[i], rows[i + 1], rows[i + 2]
            if raw:
                groups.append(_group(raw, members, seats))
        return groups

    async def offers(self) -> set[str]:
        """Every offer ever made a group offer."""
        return cast(set[str], await redis_call(self._redis.smembers(keys.GROUP_OFFERS)))

    # ---------------------------------------------------------------- failure

    async def fail_due(self, offer_id: str) -> FailReply:
        """Fail the groups of an offer whose window ended before they filled (exactly
        once, whoever calls this): units back, paid members refunded, no order."""
        reply = await group_fail(self._scripts, self.scripts, offer_id, FAIL_BATCH)
        if reply.units_returned:
            self._changed(offer_id)
            if self._publish_stock is not None:
                # Units are back: processes that saw the offer sold out must sell again.
                await self._publish_stock(offer_id, reply.available)
        if reply.state in ("closed", "") and not reply.forming and not reply.failed:
            # A closed offer takes no joins nor new terms: no group of it will form or
            # fail again, so the sweeper need not walk it any more.
            await redis_call(self._redis.srem(keys.GROUP_OFFERS, offer_id))
        return reply


def _offer_of(hold_id: str) -> tuple[str, str]:
    found = offer_of_hold(hold_id)
    if found is None:
        raise UnknownHold(hold_id)
    return found


def _group(raw: dict[str, str], members: list[tuple[str, float]], seats: dict[str, str]) -> Group:
    return Group(
        id=raw["id"],
        offer_id=raw["offer_id"],
        room_id=raw.get("room_id", ""),
        state=cast(GroupState, raw["state"]),
        size=int(raw["size"]),
        price=int(raw["price"]),
        members=tuple(
            Member(user, seats.get(f"name:{user}", ""), int(joined)) for user, joined in members
        ),
        paid=int(raw.get("paid", 0)),
        open=raw.get("open") == "1",
        leader_name=raw.get("leader_name", ""),
        created_at=int(raw["created_at"]),
        ends_at=int(raw["ends_at"]),
        formed_at=int(raw.get("formed_at", 0)),
        failed_at=int(raw.get("failed_at", 0)),
    )


async def sweep_groups_once(groups: Groups, news: GroupNews | None = None) -> FailReply | None:
    """Fail every due group of every group offer; tell ``news`` what changed. Returns the
    summed reply (None when no offer has groups)."""
    offer_ids = await groups.offers()
    replies = await asyncio.gather(*(groups.fail_due(offer_id) for offer_id in offer_ids))
    failed: list[Group] = []
    left: list[Group] = []
    for offer_id, reply in zip(offer_ids, replies, strict=True):
        if news is not None and (reply.failed or reply.left):
            failed += await groups.read(offer_id, list(reply.failed))
            gone = [g for g in reply.left if g not in reply.failed]
            left += await groups.read(offer_id, gone)
    if news is not None and (failed or left):
        await news.groups_changed(failed, left)
    if not replies:
        return None
    return FailReply(
        tuple(g for r in replies for g in r.failed),
        tuple(g for r in replies for g in r.left),
        sum(r.units_returned for r in replies),
        sum(r.refunds for r in replies),
        0,
        "",
    )


async def run_group_sweeper(groups: Groups, news: GroupNews, interval_s: float) -> None:
    """Fail due groups forever. Safe in every process: each group fails exactly once, and
    each change is handed to one process only."""
    while True:
        stop_if_cancelled()
        try:
            await sweep_groups_once(groups, news)
        except asyncio.CancelledError:
            raise
        except (StockUnavailable, RedisError, OSError) as exc:
            log.warning("Group sweeper cannot reach Redis (%s); retrying", exc)
            await asyncio.sleep(1.0)
        except Exception:
            log.exception("Group sweeper failed; retrying")
            await asyncio.sleep(1.0)
        await asyncio.sleep(interval_s)
