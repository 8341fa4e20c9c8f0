"""The stock keeper: offers, holds and orders, each change one atomic Lua script."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import random
import re
import secrets
from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from . import keys
from .batcher import ScriptBatcher
from .buckets import MAX_BUCKETS, Buckets, split_stock
from .errors import (
    HoldAlreadyConfirmed,
    InsufficientStock,
    InvalidState,
    InvalidWindow,
    UnknownHold,
    UnknownOffer,
    redis_call,
)
from .fastpath import RecentReservations, SoldOutFlags
from .keys import OfferKeys, bucket_ids, parent_of
from .models import (
    CancelResult,
    ConfirmResult,
    ExpireResult,
    Hold,
    HoldStatus,
    Offer,
    OfferSpec,
    OfferState,
    PurchaseNotice,
    ReserveOutcome,
    ReserveResult,
    StockLevel,
)
from .scripts import Scripts
from .settings import StockSettings

log = logging.getLogger(__name__)

OFFER_ID = re.compile(r"^[1-9][0-9]{0,17}$")
#: "<offer>-<hex>" or, in bucket i > 0 of a hot offer, "<offer>.<i>-<hex>".
HOLD_ID = re.compile(r"^(([1-9][0-9]{0,17})(?:\.[1-9][0-9]?)?)-[0-9a-f]{16}$")


#: See StockKeeper._reserve_hot.
MAX_REFILLS_PER_PRESS = 50
#: Units one press may ask for: far above any offer's stock, and exact in Lua and msgpack.
MAX_QUANTITY = 1_000_000_000


def offer_of_hold(hold_id: str) -> tuple[str, str] | None:
    """The offer and the bucket a hold id belongs to, or None when it is not a hold id."""
    match = HOLD_ID.match(hold_id)
    return (match.group(2), match.group(1)) if match else None


class StockKeeper:
    """Offers and purchases over one Redis client. Create one per process."""

    def __init__(self, redis: Redis, settings: StockSettings) -> None:
        self.redis = redis
        self.settings = settings
        self.scripts = Scripts.register(redis)
        self.sold_out = SoldOutFlags(settings.sold_out_flag_max_age_s)
        self._recent = RecentReservations()
        self._batcher = ScriptBatcher(redis)
        self.buckets = Buckets(redis, self.scripts, self._run)
        self._ids = random.Random(secrets.randbits(128))
        #: When a live-room hub runs in this process it turns these into room events:
        #: offers whose stock changed, and news for buyers. Off otherwise, so nothing piles up.
        self.collect_room_updates = False
        self.changed_offers: set[str] = set()
        self.purchase_notices: list[PurchaseNotice] = []

    async def start(self) -> None:
        """Load the scripts into Redis; raises StockUnavailable when Redis is down."""
        await redis_call(self.scripts.load(self.redis))

    async def close(self) -> None:
        await self._batcher.close()

    async def _run(self, script: AsyncScript, keys_: Sequence[str], args: Sequence[Any]) -> Any:
        return await self._batcher.call(script, keys_, args)

    # ----------------------------------------------------------------- offers

    async def create_offer(self, spec: OfferSpec) -> Offer:
        """Create a draft offer with all its stock available, split over ``spec.buckets``
        buckets for a hot offer."""
        if not 1 <= spec.buckets <= min(MAX_BUCKETS, spec.stock):
            raise ValueError(f"buckets must be 1 to {MAX_BUCKETS} and at most the stock")
        offer_id = str(await redis_call(self.redis.incr(keys.OFFER_SEQ)))
        buckets = bucket_ids(offer_id, spec.buckets)
        # Indexed before they exist: the sweeper and the relay walk every bucket and must
        # never miss one with holds or orders; an index entry without an offer costs nothing.
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(keys.OFFERS, *buckets)
        pipe.sadd(keys.room_offers(spec.room_id), offer_id)
        await redis_call(pipe.execute())
        # Bucket 0 last: until it exists the offer does not, so a failure half-way leaves
        # no offer with missing buckets.
        shares = split_stock(spec.stock, spec.buckets)
        for bucket, share in reversed(list(zip(buckets, shares, strict=True))):
            await self._run(
                self.scripts.offer_create,
                [OfferKeys(bucket).offer],
                [
                    bucket,
                    spec.room_id,
                    spec.sku,
                    spec.title,
                    spec.unit_price,
                    spec.currency,
                    share,
                    spec.per_user_limit,
                    spec.hold_seconds * 1000,
                    spec.opens_at,
                    spec.closes_at,
                    spec.image_url,
                    spec.countdown_s,
                    spec.window_s,
                    spec.buckets,
                    "" if bucket == offer_id else offer_id,
                ],
            )
        self.buckets.remember(offer_id, spec.buckets)
        return await self.get_offer(offer_id)

    async def get_offer(self, offer_id: str) -> Offer:
        if not OFFER_ID.match(offer_id):
            raise UnknownOffer(offer_id)
        raw = await redis_call(self.redis.hgetall(OfferKeys(offer_id).offer))
        if not raw:
            raise UnknownOffer(offer_id)
        (offer,) = await self.buckets.with_bucket_counts([_offer(cast(dict[str, str], raw))])
        return offer

    async def room_offers(self, room_id: str) -> list[Offer]:
        """Every offer of a room, oldest first."""
        ids = cast(set[str], await redis_call(self.redis.smembers(keys.room_offers(room_id))))
        pipe = self.redis.pipeline(transaction=False)
        ordered = sorted(ids, key=int)
        for offer_id in ordered:
            pipe.hgetall(OfferKeys(offer_id).offer)
        rows = await redis_call(pipe.execute())
        return await self.buckets.with_bucket_counts([_offer(row) for row in rows if row])

    async def buyers(self, offers: Sequence[Offer]) -> set[str]:
        """Users with at least one confirmed order for any of these offers."""
        pipe = self.redis.pipeline(transaction=False)
        for offer in offers:
            for bucket in bucket_ids(offer.id, offer.buckets):
                pipe.smembers(OfferKeys(bucket).buyers)
        buyers: set[str] = set()
        for members in await redis_call(pipe.execute()):
            buyers |= members
        return buyers

    async def offer_ids(self) -> set[str]:
        """Every offer ever created, and every bucket of the hot ones."""
        return cast(set[str], await redis_call(self.redis.smembers(keys.OFFERS)))

    async def open_offer(
        self, offer_id: str, *, countdown_ms: int | None = None, window_ms: int | None = None
    ) -> Offer:
        """Launch a draft offer, after a countdown and for a window when given."""
        self._check_offer_id(offer_id)
        reply = await self._run(
            self.scripts.offer_open,
            [OfferKeys(offer_id).offer],
            [-1 if countdown_ms is None else countdown_ms, -1 if window_ms is None else window_ms],
        )
        await self._sync_buckets(offer_id, reply[0])
        match reply[0]:
            case "unknown_offer":
                raise UnknownOffer(offer_id)
            case "invalid_state":
                raise InvalidState(offer_id, reply[1], "opened")
            case "invalid_window":
                raise InvalidWindow(int(reply[1]), int(reply[2]))
        return await self.get_offer(offer_id)

    async def pause_offer(self, offer_id: str) -> Offer:
        return await self._transition(offer_id, "pause", "paused")

    async def resume_offer(self, offer_id: str) -> Offer:
        return await self._transition(offer_id, "resume", "resumed")

    async def close_offer(self, offer_id: str) -> Offer:
        return await self._transition(offer_id, "close", "closed")

    async def _transition(self, offer_id: str, action: str, done: str) -> Offer:
        self._check_offer_id(offer_id)
        reply = await self._run(
            self.scripts.offer_transition, [OfferKeys(offer_id).offer], [action]
        )
        await self._sync_buckets(offer_id, reply[0])
        if reply[0] == "unknown_offer":
            raise UnknownOffer(offer_id)
        if reply[0] == "invalid_state":
            raise InvalidState(offer_id, reply[1], done)
        return await self.get_offer(offer_id)

    async def _sync_buckets(self, offer_id: str, reply: str) -> None:
        # Also after a refusal: a retry of a request that died half-way finishes the job.
        if reply != "unknown_offer" and (count := await self.buckets.count(offer_id)) > 1:
            await self.buckets.sync(offer_id, count)

    async def repair_buckets(self, offer_id: str) -> None:
        """Give a hot offer's buckets its state again if a request died half-way."""
        if await self.buckets.repair(offer_id, await self.buckets.count(offer_id)):
            log.warning("Buckets of offer %s had fallen out of step; synced them", offer_id)

    async def restock(self, offer_id: str, quantity: int) -> StockLevel:
        """Add units to an offer (to bucket 0 of a hot offer, whence they move where
        buyers are); buyers waiting on a sold-out offer can buy again."""
        level = await self._adjust_stock(offer_id, quantity)
        if await self.buckets.count(offer_id) > 1:
            level = await self._level(offer_id)
        await self.publish_stock(offer_id, level.available)
        return level

    async def pull_stock(self, offer_id: str, quantity: int) -> StockLevel:
        """Take available units off sale; held and sold units are never pulled."""
        count = await self.buckets.count(offer_id)
        if count == 1:
            return await self._adjust_stock(offer_id, -quantity)
        # A hot offer gives up units from its fullest buckets. Buyers may take some of them
        # meanwhile; if the whole quantity cannot be pulled, none is.
        pulled: list[tuple[str, int]] = []
        remaining = quantity
        for available, _, bucket in await self.buckets.levels(offer_id, count):
            if remaining == 0:
                break
            take = min(available, remaining)
            if take < 1:
                continue
            with contextlib.suppress(InsufficientStock):
                await self._adjust_stock(bucket, -take)
                pulled.append((bucket, take))
                remaining -= take
        if remaining:
            for bucket, units in pulled:
                await self._adjust_stock(bucket, units)
            raise InsufficientStock((await self._level(offer_id)).available)
        self._changed(offer_id)
        return await self._level(offer_id)

    async def _level(self, offer_id: str) -> StockLevel:
        offer = await self.get_offer(offer_id)
        return StockLevel(offer_id, offer.available, offer.total)

    def _changed(self, offer_id: str) -> None:
        if self.collect_room_updates:
            self.changed_offers.add(offer_id)

    def _notify(self, room_id: str, user_id: str, **data: object) -> None:
        if self.collect_room_updates and room_id:
            self.purchase_notices.append(PurchaseNotice(room_id, user_id, data))

    async def _adjust_stock(self, offer_id: str, delta: int) -> StockLevel:
        self._check_offer_id(parent_of(offer_id))
        reply = await self._run(
            self.scripts.offer_adjust_stock, [OfferKeys(offer_id).offer], [delta]
        )
        match reply[0]:
            case "unknown_offer":
                raise UnknownOffer(offer_id)
            case "invalid_state":
                raise InvalidState(offer_id, reply[1], "restocked" if delta > 0 else "pulled")
            case "insufficient":
                raise InsufficientStock(int(reply[1]))
        self._changed(parent_of(offer_id))
        return StockLevel(offer_id, int(reply[1]), int(reply[2]))

    async def publish_stock(self, offer_id: str, available: int) -> None:
        """Tell every process that an offer's stock changed (lowers sold-out flags)."""
        if available > 0:
            self.sold_out.lower(offer_id)
        try:
            await self.redis.publish(keys.STOCK_CHANNEL, f"{offer_id} {available}")
        except (RedisError, OSError) as exc:
            # The flags lapse by themselves; losing this message delays, never blocks, a sale.
            log.warning("Could not announce stock of offer %s: %s", offer_id, exc)

    # -------------------------------------------------------------- purchases

    async def reserve(
        self, offer_id: str, user_id: str, quantity: int, idempotency_key: str
    ) -> ReserveResult:
        """Hold ``quantity`` units for a buyer until the payment deadline."""
        if not OFFER_ID.match(offer_id):
            return ReserveResult("unknown_offer")
        if not idempotency_key:
            return ReserveResult("invalid", reason="an idempotency key is required")
        if quantity > MAX_QUANTITY:
            # Refused here: a number past 64 bits could not even be packed for the script.
            return ReserveResult("invalid", reason=f"quantity must be at most {MAX_QUANTITY:,}")
        if self.sold_out.is_sold_out(offer_id):
            known = self._recent.get(offer_id, user_id, idempotency_key)
            if known is not None:
                return dataclasses.replace(known, replayed=True)
            return ReserveResult("sold_out", available=0)
        count = self.buckets.known_count(offer_id) or await self.buckets.count(offer_id)
        if count == 1:
            result = await self._reserve_in(offer_id, user_id, quantity, idempotency_key)
        else:
            result = await self._reserve_hot(offer_id, count, user_id, quantity, idempotency_key)
        if result.outcome == "reserved":
            self._recent.remember(offer_id, user_id, idempotency_key, result)
            if self.collect_room_updates and not result.replayed:
                self.changed_offers.add(offer_id)
        if result.available == 0:
            self.sold_out.raise_flag(offer_id)
        return result

    async def _reserve_in(
        self, bucket: str, user_id: str, quantity: int, idempotency_key: str
    ) -> ReserveResult:
        script_keys, prefix = _reserve_keys(bucket)
        # Unique, not secret: every hold operation checks the buyer's user id. A PRNG avoids
        # a getrandom() system call per press.
        hold_id = f"{bucket}-{self._ids.getrandbits(64):016x}"
        reply = await self._batcher.call_merged(
            self.scripts.hold_reserve,
            script_keys,
            [prefix, self.settings.idempotency_ttl_s],
            [user_id, quantity, hold_id, idempotency_key],
        )
        return _reserve_result(reply)

    async def _reserve_hot(
        self, offer_id: str, count: int, user_id: str, quantity: int, idempotency_key: str
    ) -> ReserveResult:
        """Reserve in the buyer's home bucket, moving units into it when it is empty. Only
        when no other bucket has a unit to give is the offer sold out."""
        home = self.buckets.home(offer_id, user_id, count)
        # Each turn either answers, or moves units into the home bucket (which other
        # presses may take first), or finds no unit anywhere: the stock is finite, so this
        # ends. The bound only guards against a bug turning it into a busy loop.
        for _ in range(MAX_REFILLS_PER_PRESS):
            result = await self._reserve_in(home, user_id, quantity, idempotency_key)
            if result.outcome != "sold_out":
                # One bucket's stock is not the offer's; the room's stock events carry that.
                return dataclasses.replace(result, available=None)
            if not await self.buckets.refill(offer_id, home, count, quantity):
                return result
            self._changed(offer_id)
        log.warning("A press on offer %s gave up after %d refills", offer_id, MAX_REFILLS_PER_PRESS)
        return dataclasses.replace(result, available=None)

    async def confirm(self, hold_id: str, user_id: str, payment_ref: str) -> ConfirmResult:
        """Turn a paid hold into an order; confirming twice returns the same order."""
        offer_id, bucket = self._offer_of(hold_id)
        count = await self.buckets.count(offer_id)
        reply = await self._confirm_in(bucket, hold_id, user_id, payment_ref, count > 1)
        if reply[0] == "short":
            # A late payment in a hot offer's empty bucket: units may be left in another.
            await self.buckets.refill(offer_id, bucket, count, int(reply[1]))
            reply = await self._confirm_in(bucket, hold_id, user_id, payment_ref, False)
        match reply[0]:
            case "unknown_hold":
                raise UnknownHold(hold_id)
            case "hold_expired":
                self._notify(
                    reply[2],
                    user_id,
                    status="hold_expired",
                    hold_id=hold_id,
                    offer_id=offer_id,
                    refund_due=True,
                )
                return ConfirmResult(
                    "hold_expired", quantity=int(reply[1]), refund_due=True, room_id=reply[2]
                )
            case "already_confirmed":
                return ConfirmResult("already_confirmed", order_id=reply[1], refund_due=True)
        result = ConfirmResult(
            "confirmed",
            order_id=reply[1],
            quantity=int(reply[2]),
            amount=int(reply[3]),
            confirmed_at=int(reply[4]),
            replayed=reply[5] == 1,
            late=reply[6] == 1,
            room_id=reply[7],
        )
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

    async def _confirm_in(
        self, bucket: str, hold_id: str, user_id: str, payment_ref: str, may_refill: bool
    ) -> Any:
        k = OfferKeys(bucket)
        return await self._run(
            self.scripts.hold_confirm,
            [k.offer, k.users, k.deadlines, k.hold(hold_id), k.outbox, k.buyers],
            [user_id, payment_ref, f"o{hold_id}", parent_of(bucket), hold_id, int(may_refill)],
        )

    def _offer_of(self, hold_id: str) -> tuple[str, str]:
        """The offer and the bucket of a hold; UnknownHold when it is not a hold id."""
        found = offer_of_hold(hold_id)
        if found is None:
            raise UnknownHold(hold_id)
        return found

    async def cancel(self, hold_id: str, user_id: str) -> CancelResult:
        """Give a hold up; its units go back on sale at once."""
        offer_id, bucket = self._offer_of(hold_id)
        k = OfferKeys(bucket)
        reply = await self._run(
            self.scripts.hold_cancel,
            [k.offer, k.users, k.deadlines, k.hold(hold_id)],
            [user_id, hold_id],
        )
        match reply[0]:
            case "unknown_hold":
                raise UnknownHold(hold_id)
            case "already_confirmed":
                raise HoldAlreadyConfirmed(hold_id, reply[1])
            case "expired":
                return CancelResult("expired")
        available = int(reply[1])
        self._changed(offer_id)
        await self.publish_stock(offer_id, available)
        if await self.buckets.count(offer_id) > 1:
            return CancelResult("cancelled")  # one bucket's stock is not the offer's
        return CancelResult("cancelled", available)

    async def get_hold(self, hold_id: str, user_id: str) -> Hold:
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

    async def expire_due(self, bucket: str) -> ExpireResult:
        """Return the units of this offer's (or this bucket's) holds whose deadline has
        passed, and finish any move of units the bucket started and nobody finished."""
        k = OfferKeys(bucket)
        offer_id = parent_of(bucket)
        reply = await self._run(
            self.scripts.holds_expire,
            [k.offer, k.users, k.deadlines],
            [k.hold_prefix, self.settings.sweep_batch],
        )
        pairs = reply[5:]
        result = ExpireResult(
            int(reply[0]),
            int(reply[1]),
            int(reply[2] or 0),
            room_id=reply[3],
            sent_pending=int(reply[4] or 0),
            expired=tuple(zip(pairs[::2], pairs[1::2], strict=True)),
        )
        if result.sent_pending and (delivered := await self.buckets.finish_transfers(bucket)):
            self._changed(offer_id)
            await self.publish_stock(offer_id, delivered)
        if result.units_returned:
            self._changed(offer_id)
            for hold_id, user_id in result.expired:
                self._notify(
                    result.room_id, user_id, status="expired", hold_id=hold_id, offer_id=offer_id
                )
            await self.publish_stock(offer_id, result.available)
        return result

    def _check_offer_id(self, offer_id: str) -> None:
        if not OFFER_ID.match(offer_id):
            raise UnknownOffer(offer_id)


@functools.lru_cache(maxsize=4096)
def _reserve_keys(bucket: str) -> tuple[tuple[str, str, str], str]:
    """The reserve script's keys and key prefix for a bucket, built once per bucket rather
    than on every press."""
    k = OfferKeys(bucket)
    return (k.offer, k.users, k.deadlines), k.prefix


def _reserve_result(reply: list[Any]) -> ReserveResult:
    outcome = cast(ReserveOutcome, reply[0])
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
                status=cast(HoldStatus, reply[7]),
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
    return ReserveResult(outcome)


def _offer(raw: dict[str, str]) -> Offer:
    # Units this bucket gave away and that are not settled yet are still the offer's.
    pending = int(raw.get("sent_pending", 0))
    return Offer(
        id=raw["id"],
        room_id=raw["room_id"],
        sku=raw["sku"],
        title=raw["title"],
        unit_price=int(raw["unit_price"]),
        currency=raw["currency"],
        per_user_limit=int(raw["per_user_limit"]),
        hold_seconds=int(raw["hold_ms"]) / 1000,
        opens_at=int(raw["opens_at"]),
        closes_at=int(raw["closes_at"]),
        state=cast(OfferState, raw["state"]),
        total=int(raw["total"]) + pending,
        available=int(raw["available"]) + pending,
        held=int(raw["held"]),
        sold=int(raw["sold"]),
        created_at=int(raw["created_at"]),
        image_url=raw.get("image_url", ""),
        countdown_s=int(raw.get("countdown_s", 0)),
        window_s=int(raw.get("window_s", 0)),
        reservations=int(raw.get("reservations", 0)),
        orders=int(raw.get("orders", 0)),
        buckets=int(raw.get("buckets") or 1),
    )
