"""The watcher that checks warning lines as stock moves.

It sits beside the room hub as a stock listener of the keeper (the keeper tells it which
offers changed on this process, on the buy path: it only notes them), and checks the noted
offers that have a line a few times a second; every few seconds it also checks every offer
with a line, for changes it was not told of (another process's expiries). The check is one
Lua script (warning_check.lua): however many processes check at once, a crossing fires once.
The process whose check fired tells the room's console (room event ``stock_warning``).
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError

from stockkeeper.cancellation import stop_if_cancelled
from stockkeeper.errors import UnknownOffer
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import parent_of
from stockkeeper.listener import StockListener
from stockkeeper.models import PurchaseNotice

from ..room.publisher import RoomPublisher
from .lines import Check, WarningLines

log = logging.getLogger(__name__)


class BothListeners:
    """Tells two stock listeners of every change (the hub, and the warning watcher)."""

    def __init__(self, first: StockListener, second: StockListener) -> None:
        self.first = first
        self.second = second

    def stock_changed(self, offer_id: str) -> None:
        """Tell both."""
        self.first.stock_changed(offer_id)
        self.second.stock_changed(offer_id)

    def purchase_news(self, notice: PurchaseNotice) -> None:
        """Tell both."""
        self.first.purchase_news(notice)
        self.second.purchase_news(notice)


class WarningWatcher:
    """Checks warning lines of offers whose stock changed, and all of them now and then."""

    def __init__(
        self,
        lines: WarningLines,
        keeper: StockKeeper,
        publisher: RoomPublisher,
        interval_s: float = 0.1,
        sweep_s: float = 2.0,
    ) -> None:
        self.lines = lines
        self.keeper = keeper
        self.publisher = publisher
        self.interval_s = interval_s
        self.sweep_s = sweep_s
        self._changed: set[str] = set()
        #: Offers with a line, as last read (every sweep) or set here.
        self.lined: set[str] = set()

    def stock_changed(self, offer_id: str) -> None:
        """Note the offer (its buckets count as the offer)."""
        self._changed.add(parent_of(offer_id))

    def purchase_news(self, notice: PurchaseNotice) -> None:
        """Nothing to do."""

    async def run(self) -> None:
        """Check noted offers every interval and every lined offer every sweep, until
        cancelled."""
        next_sweep = 0.0
        while True:
            stop_if_cancelled()
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.sweep_s
                    self.lined = await self.lines.lined_offers()
                    due = set(self.lined)
                else:
                    due = self._changed & self.lined
                self._changed.clear()
                for offer_id in due:
                    await self.check(offer_id)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("Warning lines cannot reach Redis (%s); retrying", exc)
            except Exception:
                log.exception("Checking warning lines failed; retrying")
            await asyncio.sleep(self.interval_s)

    async def check(self, offer_id: str) -> Check | None:
        """Check one offer's line now; tell its room's console of a crossing or a re-arm."""
        try:
            offer = await self.keeper.get_offer(offer_id)
        except UnknownOffer:
            self.lined.discard(offer_id)
            return None
        result = await self.lines.check(offer_id, offer.available)
        if result.outcome in ("crossed", "rearmed"):
            await self.publisher.publish(
                offer.room_id,
                "stock_warning" if result.outcome == "crossed" else "stock_warning_cleared",
                {
                    "offer_id": offer_id,
                    "title": offer.title,
                    "available": result.available,
                    "line": result.line,
                    "crossing": result.crossings,
                },
            )
        return result
