"""How offers, stock, holds and shows look in API answers."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from stockkeeper.models import Hold, HoldStatus, ReserveResult, StockLevel

# An offer's public view is also what room events carry, so the domain owns it.
from ..lineup import ShownOfferState, offer_view
from ..shows.store import Show, ShowStatus
from .described import Shape

__all__ = ["hold_status_view", "hold_view", "offer_view", "show_view", "stock_view"]


class OfferView(Shape):
    """What anyone may see of an offer (``offer_view``, server/lineup.py)."""

    id: str
    room_id: str
    sku: str
    title: str
    unit_price: int
    currency: str
    per_user_limit: int
    hold_seconds: float
    opens_at_ms: int
    closes_at_ms: int
    state: ShownOfferState
    total: int
    available: int
    held: int
    sold: int
    created_at_ms: int
    image_url: str
    countdown_s: int
    window_s: int
    buckets: int
    #: Deal price and group terms (docs/groups.md): 0 = none, group_size 0 = no groups.
    compare_at_price: int = 0
    group_price: int = 0
    group_size: int = 0
    group_window_s: int = 0
    group_open: bool = False


class StockView(Shape):
    """An offer's stock after a restock or pull."""

    offer_id: str
    available: int
    total: int


def stock_view(level: StockLevel) -> dict[str, Any]:
    """An offer's stock after a restock or pull."""
    return dataclasses.asdict(level)


class HoldView(Shape):
    """The hold a reservation made."""

    hold_id: str | None
    offer_id: str
    quantity: int
    status: HoldStatus | None
    reserved_at_ms: int | None
    pay_by_ms: int | None


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


class HoldStatusView(Shape):
    """A hold as its buyer reads it later."""

    hold_id: str
    offer_id: str
    quantity: int
    status: HoldStatus
    reserved_at_ms: int
    pay_by_ms: int
    order_id: str | None
    confirmed_at_ms: int | None


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


class ShowView(Shape):
    """A show as its host sees it in the console."""

    room_id: str
    title: str
    status: ShowStatus
    created_at_ms: int
    live_at_ms: int
    ended_at_ms: int
    watch_url: str


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


class OfferFigures(Shape):
    """An offer's sales figures (``offer_figures``, server/shows/figures.py)."""

    offer_id: str
    sku: str
    title: str
    image_url: str
    state: ShownOfferState
    unit_price: int
    currency: str
    per_user_limit: int
    countdown_s: int
    window_s: int
    opens_at_ms: int
    closes_at_ms: int
    total: int
    available: int
    held: int
    sold: int
    reservations: int
    orders: int
    gmv: int
    sell_through: float
    low_stock: bool


class ShowReport(Shape):
    """A show's figures (``show_figures``): the live dashboard, and the report at the end."""

    room_id: str
    title: str
    status: ShowStatus
    host_id: str
    created_at_ms: int
    live_at_ms: int
    ended_at_ms: int
    server_time_ms: int
    viewers: int
    viewers_peak: int
    likes: int
    chat_messages: int
    chat_per_minute: float
    reservations: int
    orders: int
    units_sold: int
    holds_pending: int
    #: Sales by currency, in minor units.
    gmv: dict[str, int]
    buyers: int
    #: Distinct buyers / distinct viewers (server/audience/rates.py says who counts).
    conversion: float
    offers: list[OfferFigures]
    #: Signed-in people who watched, chatted or bought; of them, those who chatted.
    distinct_viewers: int = 0
    chatters: int = 0
    #: Distinct chatters / distinct viewers.
    interaction_rate: float = 0.0
    #: In the report of an ended show: what each feature adds (giveaways, coupons, polls...).
    sections: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)


class Dashboard(ShowReport, kw_only=True):
    """The live figures of a show, with the address of its viewer page."""

    watch_url: str
