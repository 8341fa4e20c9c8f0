"""How the stock keeper tells the rest of a process what changed, knowing nothing of it.

The live rooms implement :class:`StockListener` (server/room/hub.py) to turn stock changes
into stock events and purchase news into messages on the buyer's screens.
"""

from __future__ import annotations

from typing import Protocol

from .models import PurchaseNotice


class StockListener(Protocol):
    """Told of every change as it happens, on the buy path: each call must be synchronous
    and cheap (note it down; do the work later)."""

    def stock_changed(self, offer_id: str) -> None:
        """Units of ``offer_id`` were reserved, returned, sold, restocked or pulled."""

    def purchase_news(self, notice: PurchaseNotice) -> None:
        """Something a buyer's screens should show: an order confirmed, a hold lapsed."""


class NoListener:
    """The default listener: nobody is told, so nothing piles up."""

    def stock_changed(self, offer_id: str) -> None:
        """Ignore the change."""

    def purchase_news(self, notice: PurchaseNotice) -> None:
        """Ignore the news."""
