"""The stock side of offers: create, launch, pause, resume, close, restock and pull stock
in Redis, and read them back (a hot offer's buckets summed into one offer)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from . import keys
from .buckets import MAX_BUCKETS, Buckets, split_stock
from .errors import InsufficientStock, InvalidState, InvalidWindow, UnknownOffer, redis_call
from .fastpath import SoldOutFlags
from .ids import OFFER_ID
from .keys import OfferKeys, bucket_ids, parent_of
from .models import Offer, OfferSpec, OfferState, StockLevel
from .scripts.offers import (
    Action,
    offer_adjust_stock,
    offer_create,
    offer_open,
    offer_transition,
)
from .scripts.registry import Scripts

log = logging.getLogger(__name__)


class Offers:
    """Every offer operation of the stock keeper; ``changed`` is told each offer whose
    stock changed."""

    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        buckets: Buckets,
        sold_out: SoldOutFlags,
        changed: Callable[[str], None],
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._buckets = buckets
        self._sold_out = sold_out
        self._changed = changed

    async def create(self, spec: OfferSpec) -> Offer:
        """Create a draft offer with all its stock available, split over ``spec.buckets``
        buckets for a hot offer."""
        if not 1 <= spec.buckets <= min(MAX_BUCKETS, spec.stock):
            raise ValueError(f"buckets must be 1 to {MAX_BUCKETS} and at most the stock")
        if spec.compare_at_price and spec.compare_at_price < spec.unit_price:
            raise ValueError("compare_at_price must be at least the unit price")
        offer_id = str(await redis_call(self._redis.incr(keys.OFFER_SEQ)))
        buckets = bucket_ids(offer_id, spec.buckets)
        # Indexed before they exist: the sweeper and the relay walk every bucket and must
        # never miss one with holds or orders; an index entry without an offer costs nothing.
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(keys.OFFERS, *buckets)
        pipe.sadd(keys.room_offers(spec.room_id), offer_id)
        await redis_call(pipe.execute())
        # Bucket 0 last: until it exists the offer does not, so a failure half-way leaves
        # no offer with missing buckets.
        shares = split_stock(spec.stock, spec.buckets)
        for bucket, share in reversed(list(zip(buckets, shares, strict=True))):
            parent = "" if bucket == offer_id else offer_id
            await offer_create(self._scripts, bucket, spec, share, parent)
        self._buckets.remember(offer_id, spec.buckets)
        return await self.get(offer_id)

    async def get(self, offer_id: str) -> Offer:
        """One offer, summed over its buckets; UnknownOffer when there is none."""
        if not OFFER_ID.match(offer_id):
            raise UnknownOffer(offer_id)
        raw = await redis_call(self._redis.hgetall(OfferKeys(offer_id).offer))
        if not raw:
            raise UnknownOffer(offer_id)
        (offer,) = await self._buckets.with_bucket_counts([_offer(cast(dict[str, str], raw))])
        return offer

    async def of_room(self, room_id: str) -> list[Offer]:
        """Every offer of a room, oldest first."""
        ids = cast(set[str], await redis_call(self._redis.smembers(keys.room_offers(room_id))))
        pipe = self._redis.pipeline(transaction=False)
        for offer_id in sorted(ids, key=int):
            pipe.hgetall(OfferKeys(offer_id).offer)
        rows = await redis_call(pipe.execute())
        return await self._buckets.with_bucket_counts([_offer(row) for row in rows if row])

    async def buyers(self, offers: Sequence[Offer]) -> set[str]:
        """Users with at least one confirmed order for any of these offers."""
        pipe = self._redis.pipeline(transaction=False)
        for offer in offers:
            for bucket in bucket_ids(offer.id, offer.buckets):
                pipe.smembers(OfferKeys(bucket).buyers)
        buyers: set[str] = set()
        for members in await redis_call(pipe.execute()):
            buyers |= members
        return buyers

    async def ids(self) -> set[str]:
        """Every offer ever created, and every bucket of the hot ones."""
        return cast(set[str], await redis_call(self._redis.smembers(keys.OFFERS)))

    async def open(self, offer_id: str, countdown_ms: int | None, window_ms: int | None) -> Offer:
        """Launch a draft offer, after a countdown and for a window when given."""
        check_offer_id(offer_id)
        opened = await offer_open(self._scripts, offer_id, countdown_ms, window_ms)
        await self._sync_buckets(offer_id, opened.outcome)
        match opened.outcome:
            case "unknown_offer":
                raise UnknownOffer(offer_id)
            case "invalid_state":
                raise InvalidState(offer_id, str(opened.state), "opened")
            case "invalid_window":
                raise InvalidWindow(int(opened.opens_at or 0), int(opened.closes_at or 0))
        return await self.get(offer_id)

    async def transition(self, offer_id: str, action: Action, done: str) -> Offer:
        """Pause, resume or close an offer and every bucket of it."""
        check_offer_id(offer_id)
        moved = await offer_transition(self._scripts, offer_id, action)
        await self._sync_buckets(offer_id, moved.outcome)
        if moved.outcome == "unknown_offer":
            raise UnknownOffer(offer_id)
        if moved.outcome == "invalid_state":
            raise InvalidState(offer_id, str(moved.state), done)
        return await self.get(offer_id)

    async def _sync_buckets(self, offer_id: str, outcome: str) -> None:
        # Also after a refusal: a retry of a request that died half-way finishes the job.
        if outcome != "unknown_offer" and (count := await self._buckets.count(offer_id)) > 1:
            await self._buckets.sync(offer_id, count)

    async def repair_buckets(self, offer_id: str) -> None:
        """Give a hot offer's buckets its state again if a request died half-way."""
        if await self._buckets.repair(offer_id, await self._buckets.count(offer_id)):
            log.warning("Buckets of offer %s had fallen out of step; synced them", offer_id)

    async def restock(self, offer_id: str, quantity: int) -> StockLevel:
        """Add units to an offer (to bucket 0 of a hot offer, whence they move where
        buyers are); buyers waiting on a sold-out offer can buy again."""
        level = await self._adjust_stock(offer_id, quantity)
        if await self._buckets.count(offer_id) > 1:
            level = await self._level(offer_id)
        await self.publish_stock(offer_id, level.available)
        return level

    async def pull_stock(self, offer_id: str, quantity: int) -> StockLevel:
        """Take available units off sale; held and sold units are never pulled."""
        count = await self._buckets.count(offer_id)
        if count == 1:
            return await self._adjust_stock(offer_id, -quantity)
        # A hot offer gives up units from its fullest buckets. Buyers may take some of them
        # meanwhile; if the whole quantity cannot be pulled, none is.
        pulled: list[tuple[str, int]] = []
        remaining = quantity
        for available, _, bucket in await self._buckets.levels(offer_id, count):
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
        offer = await self.get(offer_id)
        return StockLevel(offer_id, offer.available, offer.total)

    async def _adjust_stock(self, bucket: str, delta: int) -> StockLevel:
        check_offer_id(parent_of(bucket))
        adjusted = await offer_adjust_stock(self._scripts, bucket, delta)
        match adjusted.outcome:
            case "unknown_offer":
                raise UnknownOffer(bucket)
            case "invalid_state":
                action = "restocked" if delta > 0 else "pulled"
                raise InvalidState(bucket, str(adjusted.state), action)
            case "insufficient":
                raise InsufficientStock(int(adjusted.available or 0))
        self._changed(parent_of(bucket))
        return StockLevel(bucket, int(adjusted.available or 0), int(adjusted.total or 0))

    async def publish_stock(self, offer_id: str, available: int) -> None:
        """Tell every process that an offer's stock changed (lowers sold-out flags)."""
        if available > 0:
            self._sold_out.lower(offer_id)
        try:
            await self._redis.publish(keys.STOCK_CHANNEL, f"{offer_id} {available}")
        except (RedisError, OSError) as exc:
            # The flags lapse by themselves; losing this message delays, never blocks, a sale.
            log.warning("Could not announce stock of offer %s: %s", offer_id, exc)


def check_offer_id(offer_id: str) -> None:
    """UnknownOffer unless ``offer_id`` has the shape of an offer id."""
    if not OFFER_ID.match(offer_id):
        raise UnknownOffer(offer_id)


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
        compare_at_price=int(raw.get("compare_at_price") or 0),
        group_price=int(raw.get("group_price") or 0),
        group_size=int(raw.get("group_size") or 0),
        group_window_s=int(raw.get("group_window_ms") or 0) // 1000,
        group_open=raw.get("group_open") == "1",
    )
