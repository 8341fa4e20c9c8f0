"""A buyer's orders: every hold they got and order they paid, across offers and shows.

The index lives in the buyer's slot, not the offer's, so the reserve and confirm scripts
cannot write it (see stockkeeper/recorder.py for the whole story). Crash windows, and why
they are closed:

- A new hold is written here behind its press's answer (``noted``, write_behind.py): the
  reserve script put its record in the offer's records stream in the same step, and the
  entry is deleted only once the record is in the index. A process that dies first leaves
  the entry, and the sweeper records it (``StockKeeper.record_left_over``).
- A replayed press, a payment and a group seat are recorded before their answers; the
  retry of a payment (same payment reference, which the page re-sends on reconnect)
  records it again.
- A claimed giveaway prize (its order id in the index, ``kind`` prize) is recorded right
  after the claim, and again whenever the winner reads the room's giveaways
  (``Giveaways.mine``), which heals a record lost between the claim and its recording.

Reading is not on the buy path: one sorted-set read (after this process's own new holds
are written), then each hold, offer and tracking record, all at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis

from stockkeeper.errors import UnknownHold, UnknownOffer, redis_call
from stockkeeper.ids import offer_of_hold
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.models import Hold, Offer
from stockkeeper.recorder import BuyerRecord

from ..giveaways.keys import prize_order_parts
from . import keys
from .keys import OrderKeys, PrizeOrderKeys
from .order_scripts import OrderScripts
from .write_behind import RecordWriter

#: What a buyer sees of each purchase, in the order it moves.
OrderState = Literal["held", "paid", "shipped", "delivered", "refunded", "cancelled", "expired"]
#: Most purchases one answer lists (newest first).
MAX_LISTED = 100


#: A purchase (a hold, paid or not), or a giveaway's prize the buyer won and claimed.
OrderKind = Literal["purchase", "prize"]


@dataclass(frozen=True, slots=True)
class MyOrder:
    """One of a buyer's holds or orders, as "my orders" shows it. A prize has no hold or
    offer (``hold_id`` and ``offer_id`` empty), one unit at no price."""

    hold_id: str
    offer_id: str
    room_id: str
    title: str
    sku: str
    image_url: str
    currency: str
    unit_price: int
    quantity: int
    state: OrderState
    reserved_at_ms: int
    #: Pay before this (epoch ms) while ``held``.
    pay_by_ms: int
    order_id: str | None
    confirmed_at_ms: int | None
    carrier: str | None
    tracking: str | None
    #: When fulfilment reported the state (shipped, delivered, refunded), epoch ms.
    status_at_ms: int | None
    kind: OrderKind = "purchase"


@dataclass(frozen=True, slots=True)
class OfferUnits:
    """What a buyer may still take of one offer."""

    offer_id: str
    per_user_limit: int
    #: Units the buyer holds or bought (lapsed and cancelled holds do not count).
    units_already: int


def order_keys(order_id: str) -> OrderKeys | PrizeOrderKeys | None:
    """The keys of an order's tracking, from its id (``o`` + hold id, or a giveaway's prize
    order); None if no such id."""
    prize = prize_order_parts(order_id)
    if prize is not None:
        return PrizeOrderKeys(*prize, order_id)
    hold_id = order_id[1:] if order_id.startswith("o") else ""
    found = offer_of_hold(hold_id)
    if found is None:
        return None
    return OrderKeys(found[1], hold_id, order_id)


class Ledger:
    """The per-buyer index of holds and what it shows; the stock keeper's recorder."""

    def __init__(self, redis: Redis, keeper: StockKeeper) -> None:
        self.redis = redis
        self.keeper = keeper
        self.scripts = OrderScripts(redis, keeper.scripts.batcher)
        #: Writes new holds behind their presses' answers (write_behind.py).
        self.writer = RecordWriter(self.scripts)

    async def record(self, user_id: str, hold_id: str, at_ms: int) -> None:
        """Remember that ``user_id`` has the hold ``hold_id`` (the keeper calls this)."""
        await self.scripts.record(user_id, hold_id, at_ms)

    def noted(self, record: BuyerRecord, entry: tuple[str, str]) -> None:
        """Write a new hold into its buyer's index soon (stockkeeper/recorder.py)."""
        self.writer.note(record, entry)

    async def record_all(self, records: Sequence[BuyerRecord]) -> None:
        """Remember these holds now (the sweeper's left-overs)."""
        await self.scripts.record_all(records)

    async def close(self) -> None:
        """Write the records noted, and wait for those in flight."""
        await self.writer.drain()
        await self.scripts.close()

    async def hold_ids(self, user_id: str, limit: int = MAX_LISTED) -> list[str]:
        """The buyer's hold ids (and claimed prizes' order ids), newest first."""
        await self.writer.written()
        found = await redis_call(self.redis.zrevrange(keys.purchases(user_id), 0, limit - 1))
        return [str(hold_id) for hold_id in found]

    async def of_user(
        self, user_id: str, limit: int = MAX_LISTED, just_made: Sequence[str] = ()
    ) -> list[MyOrder]:
        """Every hold, order and claimed prize of the buyer still known, newest first, with
        its state; with the holds of ``just_made`` that are the buyer's (see ``_catch_up``)."""
        await self._catch_up(user_id, just_made)
        ids = await self.hold_ids(user_id, limit)
        prize_ids = {i for i in ids if prize_order_parts(i) is not None}
        holds = [
            hold
            for hold in await asyncio.gather(
                *(self._hold(h, user_id) for h in ids if h not in prize_ids)
            )
            if hold is not None
        ]
        offers = await self._offers({hold.offer_id for hold in holds})
        tracking = await asyncio.gather(*(self._tracking(hold) for hold in holds))
        prizes = await asyncio.gather(*(self._prize(p, user_id) for p in prize_ids))
        now_ms = int(time.time() * 1000)
        found: dict[str, MyOrder] = {
            hold.hold_id: _my_order(hold, offers[hold.offer_id], t, now_ms)
            for hold, t in zip(holds, tracking, strict=True)
            if hold.offer_id in offers
        }
        found.update((p.order_id or "", p) for p in prizes if p is not None)
        return [found[i] for i in ids if i in found]

    async def _catch_up(self, user_id: str, hold_ids: Sequence[str]) -> None:
        """Record the holds the buyer says they were just answered, those that are theirs.

        A new hold reaches its buyer's index behind its answer, from the process that
        answered (write_behind.py): a page that reads its orders right after the answer, on
        another process, would not see it yet (and ``hold_ids`` hurries this process's
        writer only). A record is idempotent, so recording it here as well changes nothing
        when it was there already. Somebody else's hold id is left out."""

        async def catch_up(hold_id: str) -> None:
            try:
                hold = await self.keeper.get_hold(hold_id, user_id)
            except UnknownHold:
                return
            await self.scripts.record(user_id, hold_id, hold.reserved_at)

        await asyncio.gather(*(catch_up(hold_id) for hold_id in hold_ids))

    async def units(self, user_id: str, offers: Sequence[Offer]) -> list[OfferUnits]:
        """For each offer, its per-buyer limit and the units the buyer holds or bought (one
        pipelined read)."""
        pipe = self.redis.pipeline(transaction=False)
        for offer in offers:
            # A buyer always reserves in the same bucket of a hot offer: its count is theirs.
            home = self.keeper.buckets.home(offer.id, user_id, max(offer.buckets, 1))
            pipe.hget(OfferKeys(home).users, user_id)
        counts = await redis_call(pipe.execute()) if offers else []
        return [
            OfferUnits(offer.id, offer.per_user_limit, int(count or 0))
            for offer, count in zip(offers, counts, strict=True)
        ]

    async def _prize(self, order_id: str, user_id: str) -> MyOrder | None:
        """A prize the buyer claimed, as "my orders" shows it; None if it is not theirs."""
        parts = prize_order_parts(order_id)
        if parts is None or parts[1] != user_id:
            return None
        order = PrizeOrderKeys(*parts, order_id)
        pipe = self.redis.pipeline(transaction=False)  # one slot: the giveaway's
        pipe.hmget(order.hold, "order_id", "confirmed_at", "currency")
        pipe.hmget(order.offer, "title", "sku", "room_id")
        pipe.hgetall(order.tracking)
        prize, giveaway, tracking = await redis_call(pipe.execute())
        if prize[0] != order_id or giveaway[0] is None:
            return None
        return MyOrder(
            hold_id="",
            offer_id="",
            room_id=giveaway[2] or "",
            title=giveaway[0],
            sku=giveaway[1] or "",
            image_url="",
            currency=prize[2] or "",
            unit_price=0,
            quantity=1,
            state=cast(OrderState, tracking.get("status", "paid")),
            reserved_at_ms=int(prize[1]),
            pay_by_ms=0,
            order_id=order_id,
            confirmed_at_ms=int(prize[1]),
            **_reported(tracking),
            kind="prize",
        )

    async def _hold(self, hold_id: str, user_id: str) -> Hold | None:
        try:
            return await self.keeper.get_hold(hold_id, user_id)
        except UnknownHold:
            return None

    async def _offers(self, offer_ids: Iterable[str]) -> dict[str, Offer]:
        async def one(offer_id: str) -> Offer | None:
            try:
                return await self.keeper.get_offer(offer_id)
            except UnknownOffer:
                return None

        found = await asyncio.gather(*(one(offer_id) for offer_id in offer_ids))
        return {offer.id: offer for offer in found if offer is not None}

    async def _tracking(self, hold: Hold) -> dict[str, str]:
        if hold.order_id is None or (order := order_keys(hold.order_id)) is None:
            return {}
        return cast(dict[str, str], await redis_call(self.redis.hgetall(order.tracking)))


def _my_order(hold: Hold, offer: Offer, tracking: dict[str, str], now_ms: int) -> MyOrder:
    state: OrderState
    if hold.status == "confirmed":
        state = cast(OrderState, tracking.get("status", "paid"))
    elif hold.status == "held":
        # Lapsed but not swept yet: it can no longer be paid as it was.
        state = "held" if hold.deadline > now_ms else "expired"
    else:
        # A group member's hold is "paid" while the group forms, "refunded" if it failed.
        state = hold.status
    return MyOrder(
        hold_id=hold.hold_id,
        offer_id=hold.offer_id,
        room_id=offer.room_id,
        title=offer.title,
        sku=offer.sku,
        image_url=offer.image_url,
        currency=offer.currency,
        unit_price=offer.unit_price,
        quantity=hold.quantity,
        state=state,
        reserved_at_ms=hold.reserved_at,
        pay_by_ms=hold.deadline,
        order_id=hold.order_id,
        confirmed_at_ms=hold.confirmed_at,
        **_reported(tracking),
    )


def _reported(tracking: dict[str, str]) -> dict[str, Any]:
    """What fulfilment reported of an order (its tracking hash), as "my orders" shows it."""
    at = tracking.get("at")
    return {
        "carrier": tracking.get("carrier") or None,
        "tracking": tracking.get("tracking") or None,
        "status_at_ms": int(at) if at else None,
    }
