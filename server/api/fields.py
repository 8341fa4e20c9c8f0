"""What request bodies and socket messages hold, where more than one handler reads them:
a reservation and a payment (HTTP and socket), an offer (offers and show line-ups)."""

from __future__ import annotations

import re
from typing import Any

from stockkeeper.buckets import MAX_BUCKETS
from stockkeeper.keeper import HOLD_ID, OFFER_ID
from stockkeeper.models import OfferSpec

from ..errors import ErrorCode, Invalid
from .validation import SLUG, SLUG_HINT, Int, Str

MAX_UNITS_PER_REQUEST = 100
MAX_STOCK = 10_000_000
IMAGE_URL = re.compile(r"(https://[^\s\"'<>]{1,492})?")
EPOCH_MS_MAX = 10**13

OFFER_FIELD = Str("offer_id", OFFER_ID, "an offer id")
HOLD_FIELD = Str("hold_id", HOLD_ID, "a hold id")

RESERVE_BODY = (
    Int("quantity", 1, MAX_UNITS_PER_REQUEST, required=False, default=1),
    Str(
        "idempotency_key",
        re.compile(r"[A-Za-z0-9_.:-]{8,64}"),
        "8-64 letters, digits or _ . : - (a fresh one for every press of the buy button)",
    ),
)
CONFIRM_BODY = (
    Str("payment_ref", re.compile(r"[A-Za-z0-9_.:/-]{1,128}"), "the payment provider's reference"),
)

OFFER_BODY = (
    Str("room_id", SLUG, SLUG_HINT),
    Str("sku", SLUG, SLUG_HINT),
    Str("title", re.compile(r"[^\x00-\x1f]{1,200}"), "1-200 characters on one line"),
    Int("unit_price", 0, 10**9),
    Str("currency", re.compile(r"[A-Z]{3}"), "an ISO 4217 code such as EUR"),
    Int("stock", 1, MAX_STOCK),
    Int("per_user_limit", 1, 1000, required=False, default=1),
    Int("hold_seconds", 1, 86_400, required=False, default=300),
    Int("opens_at_ms", 0, EPOCH_MS_MAX, required=False, default=0),
    Int("closes_at_ms", 0, EPOCH_MS_MAX, required=False, default=0),
    Str(
        "image_url",
        IMAGE_URL,
        "an https:// address of at most 500 characters",
        required=False,
        default="",
    ),
    Int("countdown_seconds", 0, 3600, required=False, default=10),
    Int("window_seconds", 1, 7 * 86_400, required=False, default=600),
    # A hot offer's stock split over this many Redis slots; see docs/scaling.md.
    Int("buckets", 1, MAX_BUCKETS, required=False, default=1),
)
#: A product in a show's line-up is an offer of the show's room: an offer without room_id.
PRODUCT_BODY = tuple(f for f in OFFER_BODY if f.name != "room_id")


def check_offer(body: dict[str, Any]) -> dict[str, Any]:
    """What the field checks alone cannot see; the body when it is fine."""
    if body["buckets"] > body["stock"]:
        raise Invalid(
            ErrorCode.INVALID_FIELD, "Field 'buckets' must be at most the stock.", field="buckets"
        )
    return body


def spec_of(body: dict[str, Any]) -> OfferSpec:
    """The stock keeper's spec of a checked offer body."""
    return OfferSpec(
        room_id=body["room_id"],
        sku=body["sku"],
        title=body["title"],
        unit_price=body["unit_price"],
        currency=body["currency"],
        stock=body["stock"],
        per_user_limit=body["per_user_limit"],
        hold_seconds=body["hold_seconds"],
        opens_at=body["opens_at_ms"],
        closes_at=body["closes_at_ms"],
        image_url=body["image_url"],
        countdown_s=body["countdown_seconds"],
        window_s=body["window_seconds"],
        buckets=body["buckets"],
    )
