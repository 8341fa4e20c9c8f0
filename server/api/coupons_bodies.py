"""Request bodies and socket messages of coupon drops and red packet rains."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from server.coupons.models import MAX_PACKETS, MAX_POOL, MAX_QUOTA, DropSpec, RainSpec

from .bodies import Body, IdempotencyKey, OfferId, _shown_to_others
from .decoding import Explained

MAX_AMOUNT_OFF = 10**9
MAX_VALID_SECONDS = 30 * 86_400

Title = Annotated[
    str, Meta(pattern=r"^(?:[^\x00-\x1f]{1,80})\Z", extra={"hint": "1-80 characters on one line"})
]
ActivityId = Annotated[
    str, Meta(pattern=r"^(?:[dr][1-9][0-9]{0,15})\Z", extra={"hint": "a drop or rain id"})
]
ItemId = Annotated[
    str,
    Meta(pattern=r"^(?:d[1-9][0-9]{0,15}\.[1-9][0-9]{0,9})\Z", extra={"hint": "a coupon id"}),
]


class CreateDrop(Body):
    """A coupon drop: exactly one of ``amount_off`` (minor units) or ``percent_off``."""

    title: Title
    quota: Annotated[int, Meta(ge=1, le=MAX_QUOTA)]
    amount_off: Annotated[int, Meta(ge=1, le=MAX_AMOUNT_OFF)] | None = None
    percent_off: Annotated[int, Meta(ge=1, le=100)] | None = None
    min_spend: Annotated[int, Meta(ge=0, le=MAX_AMOUNT_OFF)] = 0
    offer_id: OfferId | None = None
    per_viewer: Annotated[int, Meta(ge=1, le=10)] = 1
    claim_seconds: Annotated[int, Meta(ge=10, le=3600)] = 60
    valid_seconds: Annotated[int, Meta(ge=60, le=MAX_VALID_SECONDS)] = 3600

    def __post_init__(self) -> None:
        self.title = _shown_to_others(self.title, "title", "1-80 characters on one line")
        if (self.amount_off is None) == (self.percent_off is None):
            raise Explained("amount_off", "Give exactly one of 'amount_off' or 'percent_off'.")
        if self.valid_seconds < self.claim_seconds:
            raise Explained(
                "valid_seconds", "Field 'valid_seconds' must be at least 'claim_seconds'."
            )

    def spec(self) -> DropSpec:
        """The domain's spec of this drop."""
        return DropSpec(
            title=self.title,
            off_kind="amount" if self.percent_off is None else "percent",
            off_value=self.percent_off or self.amount_off or 0,
            quota=self.quota,
            min_spend=self.min_spend,
            offer_id=self.offer_id or "",
            per_viewer=self.per_viewer,
            claim_seconds=self.claim_seconds,
            valid_seconds=self.valid_seconds,
        )


class CreateRain(Body):
    """A red packet rain: ``pool`` minor units split into ``packets`` (each at least 1)."""

    title: Title
    pool: Annotated[int, Meta(ge=1, le=MAX_POOL)]
    packets: Annotated[int, Meta(ge=1, le=MAX_PACKETS)]
    window_seconds: Annotated[int, Meta(ge=5, le=60)] = 20
    valid_seconds: Annotated[int, Meta(ge=60, le=MAX_VALID_SECONDS)] = 3600

    def __post_init__(self) -> None:
        self.title = _shown_to_others(self.title, "title", "1-80 characters on one line")
        if self.packets > self.pool:
            raise Explained("packets", "Field 'packets' must be at most the pool (1 each).")

    def spec(self) -> RainSpec:
        """The domain's spec of this rain."""
        return RainSpec(
            self.title, self.pool, self.packets, self.window_seconds, self.valid_seconds
        )


class Claim(Body):
    """A viewer's tap on a drop or a rain (a fresh key per tap, the same on a retry)."""

    idempotency_key: IdempotencyKey


class CouponClaimMessage(Claim, kw_only=True):
    """``{"type": "coupon_claim"}``: claim a coupon of a live drop over the socket."""

    drop_id: ActivityId


class RedPacketGrabMessage(Claim, kw_only=True):
    """``{"type": "red_packet_grab"}``: grab a packet of a live rain over the socket."""

    rain_id: ActivityId
