"""The stock keeper's facade: offers (offers.py) and purchases (here), each change one
atomic Lua script (scripts/), and a listener told what changed (listener.py)."""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Sequence
from typing import cast

import msgspec
from redis.asyncio import Redis

from .benefits import BenefitLockLost, BenefitRefused, Benefits
from .buckets import Buckets
from .errors import HoldAlreadyConfirmed, StockKeeperError, UnknownHold, redis_call
from .fastpath import SoldOutFlags
from .groups import Groups
from .ids import OFFER_ID, is_group_hold, offer_of_hold
from .keys import OfferKeys, parent_of
from .listener import NoListener, StockListener
from .models import (
    CancelResult,
    ConfirmResult,
    ExpireResult,
    Hold,
    HoldStatus,
    Offer,
    OfferSpec,
    PurchaseNotice,
    ReserveResult,
    StockLevel,
)
from .offers import Offers
from .recorder import BuyerRecord, NoRecorder, PurchaseRecorder
from .scripts.holds import hold_cancel, hold_confirm, hold_replay, hold_reserve, holds_expire
from .scripts.registry import Scripts
from .settings import StockSettings

__all__ = ["MAX_QUANTITY", "StockKeeper"]

log = logging.getLogger(__name__)

#: See StockKeeper._reserve_hot.
MAX_REFILLS_PER_PRESS = 50
#: Units one press may ask for: far above any offer's stock, and exact in Lua and msgpack.
MAX_QUANTITY = 1_000_000_000
SOLD_OUT = ReserveResult("sold_out", available=0)


class StockKeeper:
    """Offers and purchases over one Redis client. Create one per process; attach a
    ``listener`` to be told of stock changes and purchase news."""

    def __init__(
        self, redis: Redis, settings: StockSettings, listener: StockListener | None = None
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.listener: StockListener = listener or NoListener()
        #: Keeps each buyer's holds across offers ("my orders"); see recorder.py.
        self.recorder: PurchaseRecorder = NoRecorder()
        self.scripts = Scripts.register(redis)
        self.sold_out = SoldOutFlags(settings.sold_out_flag_max_age_s)
        self.buckets = Buckets(redis, self.scripts)
        self.offers = Offers(redis, self.scripts, self.buckets, self.sold_out, self._changed)
        self.groups = Groups(
            redis, self.scripts, settings, self._changed, self._notify, self.offers.publish_stock
        )
        self._ids = random.Random(secrets.randbits(128))

    async def start(self) -> None:
        """Load the scripts into Redis; raises StockUnavailable when Redis is down."""
        await redis_call(self.scripts.load(self.redis))
        await self.groups.load()

    async def close(self) -> None:
        """Wait for the script calls in flight."""
        await self.scripts.close()

    def _changed(self, offer_id: str) -> None:
        self.listener.stock_changed(offer_id)

    def _notify(self, room_id: str, user_id: str, **data: object) -> None:
        if room_id:
            self.listener.purchase_news(PurchaseNotice(room_id, user_id, data))

    # ----------------------------------------------------------------- offers

    async def create_offer(self, spec: OfferSpec) -> Offer:
        """Create a draft offer with all its stock available."""
        return await self.offers.create(spec)

    async def get_offer(self, offer_id: str) -> Offer:
        """One offer, summed over its buckets; UnknownOffer when there is none."""
        return await self.offers.get(offer_id)

    async def room_offers(self, room_id: str) -> list[Offer]:
        """Every offer of a room, oldest first."""
        return await self.offers.of_room(room_id)

    async def buyers(self, offers: Sequence[Offer]) -> set[str]:
        """Users with at least one confirmed order for any of these offers."""
        return await self.offers.buyers(offers)

    async def offer_ids(self) -> set[str]:
        """Every offer ever created, and every bucket of the hot ones."""
        return await self.offers.ids()

    async def open_offer(
        self, offer_id: str, *, countdown_ms: int | None = None, window_ms: int | None = None
    ) -> Offer:
        """Launch a draft offer, after a countdown and for a window when given."""
        return await self.offers.open(offer_id, countdown_ms, window_ms)

    async def pause_offer(self, offer_id: str) -> Offer:
        """Stop taking reservations for a while; holds stay payable."""
        return await self.offers.transition(offer_id, "pause", "paused")

    async def resume_offer(self, offer_id: str) -> Offer:
        """Take reservations again after a pause."""
        return await self.offers.transition(offer_id, "resume", "resumed")

    async def close_offer(self, offer_id: str) -> Offer:
        """End the sale for good; holds already given stay payable."""
        return await self.offers.transition(offer_id, "close", "closed")

    async def repair_buckets(self, offer_id: str) -> None:
        """Give a hot offer's buckets its state again if a request died half-way."""
        await self.offers.repair_buckets(offer_id)

    async def restock(self, offer_id: str, quantity: int) -> StockLevel:
        """Add units to an offer; buyers waiting on a sold-out offer can buy again."""
        return await self.offers.restock(offer_id, quantity)

    async def pull_stock(self, offer_id: str, quantity: int) -> StockLevel:
        """Take available units off sale; held and sold units are never pulled."""
        return await self.offers.pull_stock(offer_id, quantity)

    async def publish_stock(self, offer_id: str, available: int) -> None:
        """Tell every process that an offer's stock changed (lowers sold-out flags)."""
        await self.offers.publish_stock(offer_id, available)

    # -------------------------------------------------------------- purchases

    async def reserve(
        self, offer_id: str, user_id: str, quantity: int, idempotency_key: str
    ) -> ReserveResult:
        """Hold ``quantity`` units for a buyer until the payment deadline."""
        # Checked on every press, known or not: a bucket's id ("7.2") names a hash Redis
        # holds too, and a press on it would take units outside the buyer's home bucket,
        # past their per-person limit.
        if not OFFER_ID.match(offer_id):
            return ReserveResult("unknown_offer")
        if not idempotency_key:
            return ReserveResult("invalid", reason="an idempotency key is required")
        if quantity > MAX_QUANTITY:
            # Refused here: a number past 64 bits could not even be packed for the script.
            return ReserveResult("invalid", reason=f"quantity must be at most {MAX_QUANTITY:,}")
        count = self.buckets.known_count(offer_id) or await self.buckets.count(offer_id)
        if self.sold_out.is_sold_out(offer_id):
            answer = await self._while_sold_out(offer_id, count, user_id, idempotency_key)
            if answer is not None:
                if answer.hold_id is not None:  # a replayed press: recorded again (recorder.py)
                    await self.recorder.record(user_id, answer.hold_id, answer.reserved_at or 0)
                return answer
        if count == 1:
            # Unique, not secret: every hold operation checks the buyer's user id. A PRNG
            # avoids a getrandom() system call per press.
            hold_id = f"{offer_id}-{self._ids.getrandbits(64):016x}"
            result = await hold_reserve(
                self.scripts,
                offer_id,
                user_id,
                quantity,
                hold_id,
                idempotency_key,
                self.settings.idempotency_ttl_s,
            )
        else:
            result = await self._reserve_hot(offer_id, count, user_id, quantity, idempotency_key)
        if result.outcome == "reserved" and not result.replayed:
            self.listener.stock_changed(offer_id)
        if result.available == 0:
            self.sold_out.raise_flag(offer_id)
        if result.outcome == "reserved" and result.hold_id is not None:
            record = BuyerRecord(user_id, result.hold_id, result.reserved_at or 0)
            if result.record is not None:
                # Written behind the answer: the script left it in the offer's records stream.
                self.recorder.noted(record, result.record)
            else:
                # A replay, recorded again: it heals an index that lost the record.
                await self.recorder.record(*record)
        return result

    async def _while_sold_out(
        self, offer_id: str, count: int, user_id: str, idempotency_key: str
    ) -> ReserveResult | None:
        """A press while this process's sold-out flag for the offer is up: the hold of a
        retried press, or sold out; None when units are back (the flag missed their return).

        The key is looked up in Redis, not in this process's memory: the press it retries
        may have reserved on another process, and been paid or cancelled since. The lookup
        is read-only and merged with the other presses of the moment (one GET each)."""
        home = self.buckets.home(offer_id, user_id, count)
        found = await hold_replay(self.scripts, home, user_id, idempotency_key)
        if found.hold is not None:
            # One bucket's stock is not the offer's (as _reserve_hot answers).
            return found.hold if count == 1 else msgspec.structs.replace(found.hold, available=None)
        if found.available > 0:
            self.sold_out.lower(offer_id)
            return None
        return SOLD_OUT

    async def _reserve_hot(
        self, offer_id: str, count: int, user_id: str, quantity: int, idempotency_key: str
    ) -> ReserveResult:
        """Reserve in the buyer's home bucket, moving units into it when it is empty. Only
        when no other bucket has a unit to give is the offer sold out."""
        home = self.buckets.home(offer_id, user_id, count)
        ttl = self.settings.idempotency_ttl_s
        # Each turn either answers, or moves units into the home bucket (which other
        # presses may take first), or finds no unit anywhere: the stock is finite, so this
        # ends. The bound only guards against a bug turning it into a busy loop.
        for _ in range(MAX_REFILLS_PER_PRESS):
            hold_id = f"{home}-{self._ids.getrandbits(64):016x}"
            result = await hold_reserve(
                self.scripts, home, user_id, quantity, hold_id, idempotency_key, ttl
            )
            if result.outcome != "sold_out":
                # One bucket's stock is not the offer's; the room's stock events carry that.
                return msgspec.structs.replace(result, available=None)
            if not await self.buckets.refill(offer_id, home, count, quantity):
                return result
            self._changed(offer_id)
        log.warning("A press on offer %s gave up after %d refills", offer_id, MAX_REFILLS_PER_PRESS)
        return msgspec.structs.replace(result, available=None)

    async def confirm(
        self, hold_id: str, user_id: str, payment_ref: str, benefits: Benefits | None = None
    ) -> ConfirmResult:
        """Turn a paid hold into an order; confirming twice returns the same order.
        ``benefits`` (a coupon, credit, locked by server/coupons) are booked with it;
        BenefitLockLost or BenefitRefused when they cannot be, and nothing was written."""
        if is_group_hold(hold_id):  # groups.py: the order waits for the group to form
            if benefits is not None:  # a group price takes no coupon or credit on top
                raise BenefitRefused("wrong_offer", 0)
            paid = await self.groups.confirm(hold_id, user_id, payment_ref)
            if paid.outcome in ("confirmed", "paid"):  # see recorder.py
                await self.recorder.record(user_id, hold_id, paid.confirmed_at or 0)
            return paid
        offer_id, bucket = self._offer_of(hold_id)
        count = await self.buckets.count(offer_id)
        reply = await hold_confirm(
            self.scripts,
            bucket,
            hold_id,
            user_id,
            payment_ref,
            may_refill=count > 1,
            benefits=benefits,
        )
        if reply.outcome == "short":
            # A late payment in a hot offer's empty bucket: units may be left in another.
            await self.buckets.refill(offer_id, bucket, count, reply.quantity)
            reply = await hold_confirm(
                self.scripts,
                bucket,
                hold_id,
                user_id,
                payment_ref,
                may_refill=False,
                benefits=benefits,
            )
        match reply.outcome:
            case "unknown_hold":
                raise UnknownHold(hold_id)
            case "lock_lost":
                raise BenefitLockLost(reply.token)
            case "benefit_refused":
                raise BenefitRefused(
                    "wrong_offer" if reply.reason == "wrong_offer" else "min_spend",
                    reply.min_spend,
                )
            case "short":
                # Only answered when may_refill is set, which the second call does not set.
                raise StockKeeperError(f"Confirming {hold_id} found too few units twice")
            case "hold_expired":
                self._notify(
                    reply.room_id,
                    user_id,
                    status="hold_expired",
                    hold_id=hold_id,
                    offer_id=offer_id,
                    refund_due=True,
                )
                return ConfirmResult(
                    "hold_expired", quantity=reply.quantity, refund_due=True, room_id=reply.room_id
                )
            case "already_confirmed":
                return ConfirmResult("already_confirmed", order_id=reply.order_id, refund_due=True)
        result = ConfirmResult(
            "confirmed",
            order_id=reply.order_id,
            quantity=reply.quantity,
            amount=reply.amount,
            confirmed_at=reply.confirmed_at,
            replayed=reply.replayed,
            late=reply.late,
            room_id=reply.room_id,
            discount=reply.discount,
            credit=reply.credit,
            coupon_id=reply.coupon_id,
        )
        # Every confirmed answer, replays too (see recorder.py): the order is in "my orders".
        await self.recorder.record(user_id, hold_id, result.confirmed_at or 0)
        if not result.replayed:
            self._changed(offer_id)
            self._notify(
                result.room_id,
                user_id,
                status="confirmed",
                hold_id=hold_id,
                offer_id=offer_id,
                order_id=result.order_id,
                quantity=result.quantity,
                amount=result.amount,
            )
        return result

    def _offer_of(self, hold_id: str) -> tuple[str, str]:
        """The offer and the bucket of a hold; UnknownHold when it is not a hold id."""
        found = offer_of_hold(hold_id)
        if found is None:
            raise UnknownHold(hold_id)
        return found

    async def cancel(self, hold_id: str, user_id: str) -> CancelResult:
        """Give a hold up; its units go back on sale at once."""
        offer_id, bucket = self._offer_of(hold_id)
        if is_group_hold(hold_id):  # groups.py: before formation the seat is freed too
            reply = await self.groups.cancel(hold_id, user_id)
        else:
            reply = await hold_cancel(self.scripts, bucket, hold_id, user_id)
        match reply.outcome:
            case "unknown_hold":
                raise UnknownHold(hold_id)
            case "already_confirmed":
                raise HoldAlreadyConfirmed(hold_id, str(reply.order_id))
            case "expired":
                return CancelResult("expired")
        available = int(reply.available or 0)
        self._changed(offer_id)
        await self.offers.publish_stock(offer_id, available)
        if await self.buckets.count(offer_id) > 1:
            return CancelResult("cancelled")  # one bucket's stock is not the offer's
        return CancelResult("cancelled", available)

    async def get_hold(self, hold_id: str, user_id: str) -> Hold:
        """A buyer's hold; UnknownHold when there is none or it is somebody else's."""
        offer_id, bucket = self._offer_of(hold_id)
        raw = cast(
            dict[str, str],
            await redis_call(self.redis.hgetall(OfferKeys(bucket).hold(hold_id))),
        )
        if not raw or raw.get("user_id") != user_id:
            raise UnknownHold(hold_id)
        return Hold(
            hold_id=hold_id,
            offer_id=offer_id,
            user_id=raw["user_id"],
            quantity=int(raw["quantity"]),
            status=cast(HoldStatus, raw["status"]),
            reserved_at=int(raw["reserved_at"]),
            deadline=int(raw["deadline"]),
            order_id=raw.get("order_id"),
            confirmed_at=int(raw["confirmed_at"]) if "confirmed_at" in raw else None,
        )

    async def record_left_over(self, bucket: str, older_than_s: float = 5.0) -> int:
        """Give the recorder the new holds whose records are still in the bucket's records
        stream ``older_than_s`` after their press (their process stopped before writing them
        behind, or Redis refused it), then delete them; how many (see recorder.py)."""
        stream = OfferKeys(bucket).records
        before_ms = int((time.time() - older_than_s) * 1000)
        entries = cast(
            list[tuple[str, dict[str, str]]],
            await redis_call(
                self.redis.xrange(stream, "-", str(before_ms), count=self.settings.sweep_batch)
            ),
        )
        if not entries:
            return 0
        await self.recorder.record_all(
            [BuyerRecord(f["user"], f["hold"], int(f["at"])) for _, f in entries]
        )
        await redis_call(self.redis.xdel(stream, *(entry_id for entry_id, _ in entries)))
        return len(entries)

    async def expire_due(self, bucket: str) -> ExpireResult:
        """Return the units of this offer's (or this bucket's) holds whose deadline has
        passed, and finish any move of units the bucket started and nobody finished."""
        offer_id = parent_of(bucket)
        result = await holds_expire(self.scripts, bucket, self.settings.sweep_batch)
        if result.sent_pending and (delivered := await self.buckets.finish_transfers(bucket)):
            self._changed(offer_id)
            await self.offers.publish_stock(offer_id, delivered)
        if result.units_returned:
            self._changed(offer_id)
            for hold_id, user_id in result.expired:
                self._notify(
                    result.room_id, user_id, status="expired", hold_id=hold_id, offer_id=offer_id
                )
            await self.offers.publish_stock(offer_id, result.available)
        return result
