"""Stock changes and buyers' news, as the stock keeper reports them on the buy path, published
to the rooms a few times a second (one process per offer and period publishes the stock)."""

from __future__ import annotations

from redis.asyncio import Redis

from stockkeeper.errors import UnknownOffer
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import PurchaseNotice

from .keys import stock_tick
from .publisher import RoomPublisher


class StockNews:
    """What the stock keeper told the room hub (its listener) since the last turn."""

    def __init__(
        self, redis: Redis, publisher: RoomPublisher, keeper: StockKeeper, process_id: str
    ) -> None:
        self.redis = redis
        self.publisher = publisher
        self.keeper = keeper
        self.process_id = process_id
        self._changed: set[str] = set()
        self._notices: list[PurchaseNotice] = []
        self._last_stock: dict[str, int] = {}

    def stock_changed(self, offer_id: str) -> None:
        """Publish the offer's stock at the next turn."""
        self._changed.add(offer_id)

    def purchase_news(self, notice: PurchaseNotice) -> None:
        """Send the buyer's screens this news at the next turn."""
        self._notices.append(notice)

    async def publish_once(self) -> None:
        """Publish the stock of offers that changed, a few times a second at most."""
        changed, self._changed = self._changed, set()
        notices, self._notices = self._notices, []
        try:
            if notices:
                await self.publisher.publish_many(
                    [(n.room_id, "purchase", n.data, n.user_id) for n in notices]
                )
        except Exception:
            # Redis away: the buyers' news waits for the next turn instead of being lost
            # (news that arrived meanwhile goes after it, in order).
            self._notices[:0] = notices
            self._changed |= changed
            raise
        for offer_id in changed:
            # One process per offer and period publishes; the others try again later.
            if not await self.redis.set(stock_tick(offer_id), self.process_id, nx=True, px=200):
                self._changed.add(offer_id)
                continue
            try:
                # Summed over the buckets of a hot offer.
                offer = await self.keeper.get_offer(offer_id)
            except UnknownOffer:
                continue
            room_id, available = offer.room_id, offer.available
            await self.publisher.publish(
                room_id,
                "stock",
                {
                    "offer_id": offer_id,
                    "available": available,
                    "held": offer.held,
                    "sold": offer.sold,
                    "total": offer.total,
                    "sold_out": available == 0,
                },
            )
            if available == 0 and self._last_stock.get(offer_id) != 0:
                await self.publisher.publish(room_id, "sold_out", {"offer_id": offer_id})
            self._last_stock[offer_id] = available
