"""How offers, stock, holds and shows look in API answers."""

from __future__ import annotations

import dataclasses
from typing import Any

from stockkeeper.models import Hold, ReserveResult, StockLevel

# An offer's public view is also what room events carry, so the domain owns it.
from ..lineup import offer_view
from ..shows.store import Show

__all__ = ["hold_status_view", "hold_view", "offer_view", "show_view", "stock_view"]


def stock_view(level: StockLevel) -> dict[str, Any]:
    """An offer's stock after a restock or pull."""
    return dataclasses.asdict(level)


def hold_view(offer_id: str, result: ReserveResult) -> dict[str, Any]:
    """The hold a reservation made."""
    return {
        "hold_id": result.hold_id,
        "offer_id": offer_id,
        "quantity": result.quantity,
        "status": result.status,
        "reserved_at_ms": result.reserved_at,
        "pay_by_ms": result.deadline,
    }


def hold_status_view(hold: Hold) -> dict[str, Any]:
    """A hold as its buyer reads it later."""
    return {
        "hold_id": hold.hold_id,
        "offer_id": hold.offer_id,
        "quantity": hold.quantity,
        "status": hold.status,
        "reserved_at_ms": hold.reserved_at,
        "pay_by_ms": hold.deadline,
        "order_id": hold.order_id,
        "confirmed_at_ms": hold.confirmed_at,
    }


def show_view(show: Show) -> dict[str, Any]:
    """A show as its host sees it in the console."""
    return {
        "room_id": show.room_id,
        "title": show.title,
        "status": show.status,
        "created_at_ms": show.created_at,
        "live_at_ms": show.live_at,
        "ended_at_ms": show.ended_at,
        "watch_url": f"/watch/{show.room_id}",
    }
