"""Paying with a coupon or store credit, correct on a Redis Cluster (docs/coupons.md).

A viewer's coupon lives in its drop's slot, the hold in its offer's: no one script can see
both. So a payment takes three steps, each one script in one slot:

1. lock: the coupon (and each red packet with credit left) is locked for this hold, with
   a lease (item_lock.lua). Another hold's payment is refused the item meanwhile.
2. confirm: hold_confirm.lua computes the discount and credit from the locked terms and
   books them with the order and its outbox entry. It refuses a token that was fenced.
3. settle: hold_benefit_fate.lua, in the hold's slot, fixes whether the order used each
   token (and fences it if not), then item_settle.lua spends or gives back the item.

A crash after step 1 leaves a lock whose lease runs out; the repairer (repair.py) then runs
step 3 for it. Because step 3 fences before giving back, a confirm still on its way can
never book an item that was given back and locked again for another hold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from stockkeeper.benefits import BenefitLockLost, BenefitRefused, Benefits, CouponTerms, CreditLock
from stockkeeper.errors import StockKeeperError, UnknownHold, UnknownOffer
from stockkeeper.ids import offer_of_hold
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import ConfirmResult

from ..errors import Conflict, ErrorCode, NotFound
from .coupon_scripts import CouponScripts, Fate, LockReply
from .keys import ActivityKeys, activity_of, room_activities
from .split import seed_token

log = logging.getLogger(__name__)

#: How long a lock keeps an item for one payment before the repairer may settle it.
LOCK_LEASE_MS = 30_000
#: A payment whose lock was given up under it locks again at most this often.
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Lock:
    """An item locked for a hold under ``token``."""

    item_id: str
    token: str

    @property
    def keys(self) -> ActivityKeys:
        """The keys of the item's drop or rain."""
        return ActivityKeys(cast(str, activity_of(self.item_id)))


class Checkout:
    """Confirms holds with an optional coupon and store credit."""

    def __init__(
        self,
        redis: Redis,
        keeper: StockKeeper,
        lease_ms: int = LOCK_LEASE_MS,
        scripts: CouponScripts | None = None,
    ) -> None:
        self.redis = redis
        self.keeper = keeper
        self.scripts = scripts or CouponScripts(redis)
        self.lease_ms = lease_ms

    async def confirm(
        self,
        hold_id: str,
        user_id: str,
        payment_ref: str,
        coupon_id: str | None = None,
        use_credit: bool = False,
    ) -> ConfirmResult:
        """Confirm a paid hold, taking ``coupon_id`` and the viewer's credit off its price."""
        if not coupon_id and not use_credit:
            return await self.keeper.confirm(hold_id, user_id, payment_ref)
        found = offer_of_hold(hold_id)
        if found is None:
            raise UnknownHold(hold_id)
        if "-g" in hold_id:
            raise Conflict(
                ErrorCode.COUPON_WRONG_OFFER, "Coupons and credit do not apply to group purchases."
            )
        try:
            room_id = (await self.keeper.get_offer(found[0])).room_id
        except UnknownOffer:
            raise UnknownHold(hold_id) from None
        for _ in range(ATTEMPTS):
            locks: list[Lock] = []
            try:
                benefits = await self._lock(locks, hold_id, user_id, room_id, coupon_id, use_credit)
                return await self.keeper.confirm(hold_id, user_id, payment_ref, benefits)
            except BenefitLockLost:
                continue  # given up under us (a stalled payment): lock afresh
            except BenefitRefused as refused:
                if refused.reason == "wrong_offer":
                    raise Conflict(
                        ErrorCode.COUPON_WRONG_OFFER, "This coupon is for another offer."
                    ) from None
                raise Conflict(
                    ErrorCode.COUPON_MIN_SPEND,
                    "This order is below the coupon's minimum spend.",
                    min_spend=refused.min_spend,
                ) from None
            finally:
                await self._settle_all(hold_id, locks)
        raise Conflict(
            ErrorCode.COUPON_IN_USE, "This coupon is busy with another payment.", retriable=True
        )

    async def _lock(
        self,
        locks: list[Lock],
        hold_id: str,
        user_id: str,
        room_id: str,
        coupon_id: str | None,
        use_credit: bool,
    ) -> Benefits:
        coupon: CouponTerms | None = None
        if coupon_id:
            drop_id = activity_of(coupon_id)
            if drop_id is None or not drop_id.startswith("d"):
                raise NotFound(ErrorCode.UNKNOWN_COUPON, "You have no such coupon.")
            reply = await self._lock_item(coupon_id, user_id, hold_id, room_id)
            _coupon_refusal(reply)
            if reply.outcome == "locked":
                locks.append(Lock(coupon_id, reply.token))
                coupon = CouponTerms(
                    reply.token,
                    coupon_id,
                    "percent" if reply.off_kind == "percent" else "amount",
                    reply.off_value,
                    reply.min_spend,
                    reply.offer_id,
                )
        credits: list[CreditLock] = []
        if use_credit:
            for packet_id in await self.credit_items(room_id, user_id):
                reply = await self._lock_item(packet_id, user_id, hold_id, room_id)
                if reply.outcome == "in_use":
                    raise Conflict(
                        ErrorCode.CREDIT_IN_USE,
                        "Your credit is busy with another payment; try again in a moment.",
                        retriable=True,
                    )
                if reply.outcome == "locked":
                    locks.append(Lock(packet_id, reply.token))
                    credits.append(CreditLock(reply.token, reply.balance))
        return Benefits(coupon, tuple(credits))

    async def _lock_item(self, item_id: str, user_id: str, hold_id: str, room_id: str) -> LockReply:
        """Lock an item; a lock another payment left behind past its lease is settled first."""
        keys = ActivityKeys(cast(str, activity_of(item_id)))
        for _ in range(2):
            reply = await self.scripts.lock(
                keys, item_id, user_id, hold_id, seed_token(), self.lease_ms, room_id
            )
            if reply.outcome != "in_use" or not reply.lease_over:
                return reply
            await self.settle(Lock(item_id, reply.token), reply.other_hold)
        return reply

    async def credit_items(self, room_id: str, user_id: str) -> list[str]:
        """The viewer's red packets in this show (spent ones too), oldest first."""
        ids = cast(list[str], await self.redis.lrange(room_activities(room_id), 0, -1))
        rains = [i for i in ids if i.startswith("r")]
        pipe = self.redis.pipeline(transaction=False)
        for rain_id in rains:
            pipe.hget(ActivityKeys(rain_id).mine, user_id)
        mine = cast(list[str | None], await pipe.execute()) if rains else []
        return [item for items in mine if items for item in items.split()]

    async def _settle_all(self, hold_id: str, locks: list[Lock]) -> None:
        for lock in locks:
            try:
                await self.settle(lock, hold_id)
            except (RedisError, OSError, StockKeeperError):
                # The lease runs out and the repairer settles it (repair.py).
                log.warning("Could not settle %s of hold %s now", lock.item_id, hold_id)

    async def settle(self, lock: Lock, hold_id: str) -> str:
        """Step 3: fix in the hold's slot whether its order used the lock, then spend or
        give back the item. Safe to run again, and from any process."""
        found = offer_of_hold(hold_id)
        fate = (
            Fate(False) if found is None else await self.scripts.fate(found[1], hold_id, lock.token)
        )
        return await self.scripts.settle(lock.keys, lock.item_id, lock.token, fate, hold_id)


def _coupon_refusal(reply: LockReply) -> None:
    """The error for a coupon that cannot be locked (none for locked or spent_here)."""
    match reply.outcome:
        case "unknown":
            raise NotFound(ErrorCode.UNKNOWN_COUPON, "You have no such coupon.")
        case "expired":
            raise Conflict(ErrorCode.COUPON_EXPIRED, "This coupon has expired.")
        case "spent":
            raise Conflict(ErrorCode.COUPON_USED, "This coupon was used on another order.")
        case "other_show":
            raise Conflict(ErrorCode.COUPON_WRONG_OFFER, "This coupon is for another show.")
        case "in_use":
            raise Conflict(
                ErrorCode.COUPON_IN_USE,
                "This coupon is being used to pay for another hold.",
                retriable=True,
            )
