"""Every request body and socket message of the API, as typed msgspec Structs.

Each field carries its constraints (decoded and checked in one step by
``decoding.decode_body``) and a ``hint`` that tells a caller what a good value looks like.
Unknown fields are refused; a field sent as null counts as not sent.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from stockkeeper.buckets import MAX_BUCKETS
from stockkeeper.ids import HOLD_ID, OFFER_ID
from stockkeeper.models import OfferSpec

from ..errors import ErrorCode
from ..hosts.accounts import HOST_ID_HINT
from ..hosts.passwords import MAX_LENGTH as MAX_PASSWORD_LENGTH
from ..plain_text import without_bidi_controls
from .decoding import Explained

#: Units one press of the buy button may ask for.
MAX_UNITS_PER_REQUEST = 100
MAX_STOCK = 10_000_000
MAX_PRODUCTS = 50
MAX_BLOCKED_WORDS = 500
EPOCH_MS_MAX = 10**13
SLUG_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"
SLUG_HINT = "1-64 letters, digits or _ . : -"


def _text(pattern: str, hint: str) -> Meta:
    # \Z, not $: "$" would also accept a value that ends in a newline.
    return Meta(pattern=f"^(?:{pattern})\\Z", extra={"hint": hint})


def _whole(low: int, high: int) -> Meta:
    return Meta(ge=low, le=high)


Slug = Annotated[str, _text(SLUG_PATTERN, SLUG_HINT)]
OfferId = Annotated[str, _text(OFFER_ID.pattern.strip("^$"), "an offer id")]
HoldId = Annotated[str, _text(HOLD_ID.pattern.strip("^$"), "a hold id")]
UserId = Annotated[str, _text(r"[A-Za-z0-9_.:@-]{1,64}", "a user id")]
IdempotencyKey = Annotated[
    str,
    _text(
        r"[A-Za-z0-9_.:-]{8,64}",
        "8-64 letters, digits or _ . : - (a fresh one for every press of the buy button)",
    ),
]
PaymentRef = Annotated[str, _text(r"[A-Za-z0-9_.:/-]{1,128}", "the payment provider's reference")]
Quantity = Annotated[int, _whole(1, MAX_UNITS_PER_REQUEST)]
StockQuantity = Annotated[int, _whole(1, MAX_STOCK)]
CountdownSeconds = Annotated[int, _whole(0, 3600)]
WindowSeconds = Annotated[int, _whole(1, 7 * 86_400)]
EpochMs = Annotated[int, _whole(0, EPOCH_MS_MAX)]


def _shown_to_others(text: str, field: str, hint: str) -> str:
    """Text other people will see, without bidirectional controls (server/plain_text.py)."""
    cleaned = without_bidi_controls(text)
    if not cleaned.strip():
        raise Explained(field, f"Field {field!r} must be {hint}.")
    return cleaned


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every body: unknown fields are an error."""

    #: (code, field, message) to answer for any problem, for bodies whose rule is one sentence.
    __invalid__: ClassVar[tuple[ErrorCode, str | None, str] | None] = None


class Empty(Body):
    """The body of an action that takes no fields (an empty body or ``{}``)."""


# ------------------------------------------------------------------ purchases


class Reserve(Body):
    """A press of the buy button."""

    idempotency_key: IdempotencyKey
    quantity: Quantity = 1


CouponId = Annotated[
    str, _text(r"d[1-9][0-9]{0,15}\.[1-9][0-9]{0,9}", "a coupon id from the viewer's wallet")
]


class Confirm(Body):
    """A payment of a hold, with the payment provider's reference, and optionally a coupon
    and the viewer's red packet credit taken off its price (docs/coupons.md)."""

    payment_ref: PaymentRef
    coupon_id: CouponId | None = None
    use_credit: bool = False


# --------------------------------------------------------------------- offers


class Product(Body):
    """An offer's fields without its room: a product in a show's line-up."""

    sku: Slug
    title: Annotated[str, _text(r"[^\x00-\x1f]{1,200}", "1-200 characters on one line")]
    unit_price: Annotated[int, _whole(0, 10**9)]
    currency: Annotated[str, _text(r"[A-Z]{3}", "an ISO 4217 code such as EUR")]
    stock: Annotated[int, _whole(1, MAX_STOCK)]
    per_user_limit: Annotated[int, _whole(1, 1000)] = 1
    hold_seconds: Annotated[int, _whole(1, 86_400)] = 300
    opens_at_ms: EpochMs = 0
    closes_at_ms: EpochMs = 0
    image_url: Annotated[
        str,
        _text(r"(https://[^\s\"'<>]{1,492})?", "an https:// address of at most 500 characters"),
    ] = ""
    countdown_seconds: CountdownSeconds = 10
    window_seconds: WindowSeconds = 600
    #: A hot offer's stock split over this many Redis slots; see docs/scaling.md.
    buckets: Annotated[
        int, _whole(1, MAX_BUCKETS), Meta(description="At most the stock (one unit a bucket).")
    ] = 1
    #: The regular price shown struck through (deal prices, docs/groups.md); 0 = none.
    compare_at_price: Annotated[
        int, _whole(0, 10**9), Meta(description="0 (none) or at least unit_price.")
    ] = 0

    def __post_init__(self) -> None:
        self.title = _shown_to_others(self.title, "title", "1-200 characters on one line")
        if self.buckets > self.stock:
            raise Explained("buckets", "Field 'buckets' must be at most the stock.")
        if 0 < self.compare_at_price < self.unit_price:
            raise Explained(
                "compare_at_price", "Field 'compare_at_price' must be at least the unit price."
            )

    def spec(self, room_id: str) -> OfferSpec:
        """The stock keeper's spec of this product as an offer of ``room_id``."""
        return OfferSpec(
            room_id=room_id,
            sku=self.sku,
            title=self.title,
            unit_price=self.unit_price,
            currency=self.currency,
            stock=self.stock,
            per_user_limit=self.per_user_limit,
            hold_seconds=self.hold_seconds,
            opens_at=self.opens_at_ms,
            closes_at=self.closes_at_ms,
            image_url=self.image_url,
            countdown_s=self.countdown_seconds,
            window_s=self.window_seconds,
            buckets=self.buckets,
            compare_at_price=self.compare_at_price,
        )


class CreateOffer(Product, kw_only=True):
    """A new offer in a room the host runs."""

    room_id: Slug


class OpenOffer(Body):
    """A launch: the countdown and sale window, or the offer's own when not given."""

    countdown_seconds: CountdownSeconds | None = None
    window_seconds: WindowSeconds | None = None


class StockChange(Body):
    """Units to add to an offer or take off sale."""

    quantity: StockQuantity


# ---------------------------------------------------------------------- shows


class CreateShow(Body):
    """A show in a new room, with its line-up."""

    room_id: Slug
    title: Annotated[str, _text(r"[^\x00-\x1f]{1,120}", "1-120 characters on one line")]
    products: Annotated[
        list[Product],
        Meta(
            max_length=MAX_PRODUCTS,
            extra={"message": f"'products' must be a list of at most {MAX_PRODUCTS}."},
        ),
    ] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        self.title = _shown_to_others(self.title, "title", "1-120 characters on one line")


# ----------------------------------------------------------------- moderation


class Announcement(Body):
    """A host's message to the room, pinned or not."""

    text: Annotated[str, _text(r"[^\x00-\x08\x0b-\x1f]{1,500}", "1-500 characters")]
    pinned: bool = False

    def __post_init__(self) -> None:
        self.text = _shown_to_others(self.text, "text", "1-500 characters")


class PinOffer(Body):
    """The offer every viewer sees pinned."""

    offer_id: OfferId


class Mute(Body):
    """Mute (or unmute) a viewer's chat."""

    user_id: UserId
    muted: bool = True


class Ban(Body):
    """Ban a viewer from the room."""

    user_id: UserId


class SlowMode(Body):
    """Seconds between two messages of one viewer (0 turns slow mode off)."""

    seconds: Annotated[int, _whole(0, 600)]


class BlockedWords(Body):
    """The room's blocked words, replacing the previous list."""

    __invalid__ = (
        ErrorCode.INVALID_FIELD,
        "words",
        f'Send {{"words": [...]}}: up to {MAX_BLOCKED_WORDS} words of 1-64 characters.',
    )
    # 1-64 characters once the spaces around the word are trimmed.
    words: Annotated[
        list[Annotated[str, Meta(pattern=r"(?s)^\s*\S(?:.{0,62}\S)?\s*\Z")]],
        Meta(max_length=MAX_BLOCKED_WORDS),
    ]


# --------------------------------------------------------------- host account


class Login(Body):
    """A host's sign-in."""

    host_id: Annotated[str, _text(r"[^\x00-\x1f]{1,64}", HOST_ID_HINT)]
    password: Annotated[str, _text(rf"[^\x00]{{1,{MAX_PASSWORD_LENGTH}}}", "your password")]


class NewApiToken(Body):
    """What a new API token is for."""

    label: Annotated[str, _text(r"[^\x00-\x1f]{1,64}", "1-64 characters")]


class DemoViewer(Body):
    """A nickname for the demo sign-in of the local stack."""

    display_name: Annotated[str, _text(r"[^\x00-\x1f]{1,32}", "1-32 characters on one line")]

    def __post_init__(self) -> None:
        self.display_name = _shown_to_others(
            self.display_name, "display_name", "1-32 characters on one line"
        )


# ------------------------------------------------------ room socket messages


class AuthMessage(Body):
    """``{"type": "auth"}``: sign in on an open socket."""

    token: Annotated[str, _text(r".{1,2048}", "a token")]


class ReserveMessage(Reserve, kw_only=True):
    """``{"type": "reserve"}``: a press of the buy button over the socket."""

    offer_id: OfferId


class ConfirmMessage(Confirm, kw_only=True):
    """``{"type": "confirm"}``: a payment over the socket."""

    hold_id: HoldId


class ChatMessage(Body):
    """``{"type": "chat"}``: a line of chat (its length is the room's rule, checked after)."""

    __invalid__ = (
        ErrorCode.INVALID_MESSAGE,
        None,
        'A chat message is {"type": "chat", "text": ...}.',
    )
    text: str


class CancelMessage(Body):
    """``{"type": "cancel"}``: give a hold up over the socket."""

    hold_id: HoldId
