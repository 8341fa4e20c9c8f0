"""Request bodies and socket messages of giveaways: a host's new giveaway, a viewer's entry
and a winner's shipping details."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from ..giveaways.models import (
    MAX_PRIZES,
    MAX_WATCH_S,
    MAX_WINDOW_S,
    MIN_PRIZES,
    MIN_WINDOW_S,
    GiveawaySpec,
)
from ..plain_text import without_bidi_controls
from .bodies import Body, Slug, _shown_to_others, _text, _whole
from .decoding import Explained

GiveawayId = Annotated[str, _text(r"[1-9][0-9]{0,17}", "a giveaway id")]


def _line(low: int, high: int) -> Meta:
    return _text(f"[^\\x00-\\x1f]{{{low},{high}}}", f"{low}-{high} characters on one line")


class CreateGiveaway(Body):
    """A giveaway: the prize, how many win, how long entries run, and who may enter."""

    title: Annotated[str, _line(1, 200)]
    sku: Slug
    #: How many viewers win (one prize each).
    prizes: Annotated[int, _whole(MIN_PRIZES, MAX_PRIZES)] = 1
    window_seconds: Annotated[int, _whole(MIN_WINDOW_S, MAX_WINDOW_S)] = 60
    #: any: every signed-in viewer; keyword: viewers who post ``keyword`` in chat;
    #: watched: viewers who watched ``min_watch_seconds``; bought: buyers in this show.
    rule: Literal["any", "keyword", "watched", "bought"] = "any"
    keyword: Annotated[str, _line(1, 40)] = ""
    min_watch_seconds: Annotated[int, _whole(0, MAX_WATCH_S)] = 0
    #: Open the entry window at once (else start it later).
    start: bool = True

    def __post_init__(self) -> None:
        self.title = _shown_to_others(self.title, "title", "1-200 characters on one line")
        if self.rule == "keyword":
            self.keyword = _shown_to_others(self.keyword, "keyword", "1-40 characters").strip()
            if not self.keyword:
                raise Explained("keyword", "Field 'keyword' is needed with the keyword rule.")
        if self.rule == "watched" and self.min_watch_seconds < 1:
            raise Explained(
                "min_watch_seconds", "Field 'min_watch_seconds' is needed with the watched rule."
            )

    def spec(self) -> GiveawaySpec:
        """The domain's spec of this giveaway."""
        return GiveawaySpec(
            title=self.title,
            sku=self.sku,
            prizes=self.prizes,
            window_s=self.window_seconds,
            rule=self.rule,
            keyword=self.keyword if self.rule == "keyword" else "",
            min_watch_s=self.min_watch_seconds if self.rule == "watched" else 0,
        )


class GiveawayEnterMessage(Body):
    """``{"type": "giveaway_enter", "giveaway_id": ...}``: enter over the room socket."""

    giveaway_id: GiveawayId


def _clean(value: str, field: str, hint: str) -> str:
    cleaned = without_bidi_controls(value).strip()
    if not cleaned:
        raise Explained(field, f"Field {field!r} must be {hint}.")
    return cleaned


class Shipping(Body):
    """Where a winner wants the prize sent (order schema v2's ``shipping``)."""

    name: Annotated[str, _line(1, 100)]
    address: Annotated[str, _line(1, 300)]
    city: Annotated[str, _line(1, 100)]
    postal_code: Annotated[str, _text(r"[A-Za-z0-9 -]{1,20}", "1-20 letters, digits, spaces or -")]
    country: Annotated[str, _text(r"[A-Z]{2}", "an ISO 3166 two-letter code such as FR")]
    phone: Annotated[str, _text(r"\+?[0-9 ().-]{4,40}", "4-40 digits, spaces or + ( ) . -")] = ""

    def __post_init__(self) -> None:
        self.name = _clean(self.name, "name", "1-100 characters on one line")
        self.address = _clean(self.address, "address", "1-300 characters on one line")
        self.city = _clean(self.city, "city", "1-100 characters on one line")
        self.postal_code = _clean(self.postal_code, "postal_code", "1-20 letters or digits")

    def as_dict(self) -> dict[str, str | None]:
        """The object the order carries (``phone`` null when not given)."""
        return {
            "name": self.name,
            "address": self.address,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
            "phone": self.phone or None,
        }
