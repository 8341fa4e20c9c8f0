"""Small typed results of the stock keeper's operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

OfferState = Literal["draft", "open", "paused", "closed"]
ReserveOutcome = Literal[
    "reserved",
    "sold_out",
    "limit_reached",
    "not_open",
    "paused",
    "closed",
    "unknown_offer",
    "invalid",
]
#: "paid" and "refunded" are a group member's: paid while the group forms, refunded when
#: it failed (stockkeeper/groups.py).
HoldStatus = Literal["held", "confirmed", "cancelled", "expired", "paid", "refunded"]


@dataclass(frozen=True, slots=True)
class OfferSpec:
    """What a host fills in to create an offer. Prices are in minor units (cents)."""

    room_id: str
    sku: str
    title: str
    unit_price: int
    currency: str
    stock: int
    per_user_limit: int
    hold_seconds: int
    opens_at: int = 0
    closes_at: int = 0
    #: A product photo for viewers' screens ("" = none).
    image_url: str = ""
    #: Launch presets the host console uses: countdown and sale window, in seconds.
    countdown_s: int = 0
    window_s: int = 0
    #: Split the stock over this many buckets (hash slots) for a hot offer; see buckets.py.
    buckets: int = 1
    #: The regular price shown struck through (>= unit_price), minor units; 0 = none.
    compare_at_price: int = 0


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer as the stock keeper knows it: terms, state and stock."""

    id: str
    room_id: str
    sku: str
    title: str
    unit_price: int
    currency: str
    per_user_limit: int
    hold_seconds: float
    opens_at: int
    closes_at: int
    state: OfferState
    total: int
    available: int
    held: int
    sold: int
    created_at: int
    image_url: str = ""
    countdown_s: int = 0
    window_s: int = 0
    #: Holds ever granted, and holds that became orders (for the show's dashboard).
    reservations: int = 0
    orders: int = 0
    buckets: int = 1
    #: The regular price shown struck through, 0 = none (deal prices, issue 15).
    compare_at_price: int = 0
    #: Group buying terms (issue 15; stockkeeper/groups.py): group size 0 = not a group offer.
    group_price: int = 0
    group_size: int = 0
    group_window_s: int = 0
    group_open: bool = False


@dataclass(frozen=True, slots=True)
class StockLevel:
    """An offer's units: available now, and in all."""

    offer_id: str
    available: int
    total: int


class ReserveResult(msgspec.Struct, frozen=True):
    """What a press of the buy button came to: a hold, or why not.

    A frozen msgspec Struct rather than a frozen dataclass like its neighbours: one is made
    for every press, and a frozen dataclass's ``__init__`` sets each of its 13 fields through
    ``object.__setattr__`` (1.5 µs a press, against 0.3 µs)."""

    outcome: ReserveOutcome
    hold_id: str | None = None
    quantity: int = 0
    reserved_at: int | None = None
    #: Pay before this moment (epoch ms, Redis clock) or the units go back to stock.
    deadline: int | None = None
    #: Units still available right after this answer, when known.
    available: int | None = None
    #: True when this answer repeats the one given to an earlier request with the same key.
    replayed: bool = False
    status: HoldStatus | None = None
    limit: int | None = None
    units_already: int | None = None
    opens_at: int | None = None
    #: Why an ``invalid`` request was refused.
    reason: str | None = None
    #: A new hold's entry in its offer's records stream (stream key, entry id), for the
    #: buyer's "my orders" (stockkeeper/recorder.py); None for a replayed press.
    record: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """What a payment came to: an order, or why not (and whether money is owed back)."""

    #: "paid": a group member's payment, kept until the group forms (stockkeeper/groups.py);
    #: "group_failed": a payment after the member's group failed, owed back.
    outcome: Literal["confirmed", "hold_expired", "already_confirmed", "paid", "group_failed"]
    order_id: str | None = None
    quantity: int = 0
    amount: int = 0
    confirmed_at: int | None = None
    replayed: bool = False
    #: Paid after the deadline, but the units were still there and were taken again.
    late: bool = False
    #: A refund_due event was written for this payment.
    refund_due: bool = False
    room_id: str = ""
    #: The group of a group member's hold ("" otherwise).
    group_id: str = ""
    #: Taken off by a coupon (coupon_id) and by store credit: amount is what was paid.
    discount: int = 0
    credit: int = 0
    coupon_id: str = ""


@dataclass(frozen=True, slots=True)
class CancelResult:
    """What giving a hold up came to."""

    outcome: Literal["cancelled", "expired"]
    available: int | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """A buyer's hold, as they read it later."""

    hold_id: str
    offer_id: str
    user_id: str
    quantity: int
    status: HoldStatus
    reserved_at: int
    deadline: int
    order_id: str | None
    confirmed_at: int | None


@dataclass(frozen=True, slots=True)
class ExpireResult:
    """What one sweep of an offer's (or bucket's) lapsed holds did."""

    holds_expired: int
    units_returned: int
    available: int
    room_id: str = ""
    #: Units this bucket gave another and nobody settled yet (the sweeper finishes them).
    sent_pending: int = 0
    #: (hold id, user id) of every hold this call expired.
    expired: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PurchaseNotice:
    """Something a buyer's own screens should show: an order confirmed, a hold lapsed."""

    room_id: str
    user_id: str
    data: dict[str, object]
