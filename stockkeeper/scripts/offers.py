"""Typed wrappers of the offer scripts: create, open, pause/resume/close, restock or pull.

Each takes an offer (or bucket) id, sends the offer's keys in KEYS and decodes the reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..keys import OfferKeys
from ..models import OfferSpec
from .registry import Scripts

Action = Literal["pause", "resume", "close"]


@dataclass(frozen=True, slots=True)
class Created:
    """offer_create.lua: the bucket was created, or existed already (nothing changed)."""

    outcome: Literal["created", "exists"]
    created_at: int | None = None


@dataclass(frozen=True, slots=True)
class Opened:
    """offer_open.lua: ``state`` is the offer's current state when it was refused."""

    outcome: Literal["open", "unknown_offer", "invalid_state", "invalid_window"]
    state: str | None = None
    opens_at: int | None = None
    closes_at: int | None = None


@dataclass(frozen=True, slots=True)
class Transitioned:
    """offer_transition.lua: ``state`` is the new state, or the current one when the
    action was refused."""

    outcome: Literal["ok", "unknown_offer", "invalid_state"]
    state: str | None = None


@dataclass(frozen=True, slots=True)
class StockAdjusted:
    """offer_adjust_stock.lua: the new levels, or why nothing changed."""

    outcome: Literal["ok", "unknown_offer", "invalid_state", "insufficient"]
    available: int | None = None
    total: int | None = None
    state: str | None = None


async def offer_create(
    scripts: Scripts, bucket: str, spec: OfferSpec, stock: int, parent_id: str
) -> Created:
    """Create ``bucket`` as a draft offer holding ``stock`` units of ``spec``; ``parent_id``
    is "" for the offer itself (bucket 0), else the offer the bucket belongs to."""
    reply = await scripts.run(
        scripts.offer_create,
        [OfferKeys(bucket).offer],
        [
            bucket,
            spec.room_id,
            spec.sku,
            spec.title,
            spec.unit_price,
            spec.currency,
            stock,
            spec.per_user_limit,
            spec.hold_seconds * 1000,
            spec.opens_at,
            spec.closes_at,
            spec.image_url,
            spec.countdown_s,
            spec.window_s,
            spec.buckets,
            parent_id,
            spec.compare_at_price or "",
        ],
    )
    if reply[0] == "exists":
        return Created("exists")
    return Created("created", created_at=int(reply[1]))


async def offer_open(
    scripts: Scripts, offer_id: str, countdown_ms: int | None, window_ms: int | None
) -> Opened:
    """Launch a draft offer after ``countdown_ms`` for ``window_ms`` (None keeps the
    scheduled times)."""
    reply = await scripts.run(
        scripts.offer_open,
        [OfferKeys(offer_id).offer],
        [-1 if countdown_ms is None else countdown_ms, -1 if window_ms is None else window_ms],
    )
    match reply[0]:
        case "open":
            return Opened("open", "open", int(reply[1]), int(reply[2]))
        case "invalid_state":
            return Opened("invalid_state", state=reply[1])
        case "invalid_window":
            return Opened("invalid_window", opens_at=int(reply[1]), closes_at=int(reply[2]))
    return Opened("unknown_offer")


async def offer_transition(scripts: Scripts, offer_id: str, action: Action) -> Transitioned:
    """Pause, resume or close an offer (or one bucket of it)."""
    reply = await scripts.run(scripts.offer_transition, [OfferKeys(offer_id).offer], [action])
    match reply[0]:
        case "ok":
            return Transitioned("ok", reply[1])
        case "invalid_state":
            return Transitioned("invalid_state", reply[1])
    return Transitioned("unknown_offer")


async def offer_adjust_stock(scripts: Scripts, bucket: str, delta: int) -> StockAdjusted:
    """Add (``delta`` > 0) or pull available units of an offer or a bucket."""
    reply = await scripts.run(scripts.offer_adjust_stock, [OfferKeys(bucket).offer], [delta])
    match reply[0]:
        case "ok":
            return StockAdjusted("ok", available=int(reply[1]), total=int(reply[2]))
        case "invalid_state":
            return StockAdjusted("invalid_state", state=reply[1])
        case "insufficient":
            return StockAdjusted("insufficient", available=int(reply[1]))
    return StockAdjusted("unknown_offer")
