"""What a host creates (a drop, a rain) and what a viewer holds (coupons, credit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ActivityKind = Literal["drop", "rain"]
ActivityStatus = Literal["ready", "live", "ended"]

#: Most coupons one drop gives out.
MAX_QUOTA = 100_000
#: Most packets in one rain.
MAX_PACKETS = 10_000
#: Largest red packet pool, minor units.
MAX_POOL = 100_000_000


@dataclass(frozen=True, slots=True)
class DropSpec:
    """A coupon drop as a host asks for it: amount off (minor units) or percent off."""

    title: str
    off_kind: Literal["amount", "percent"]
    off_value: int
    quota: int
    min_spend: int = 0
    offer_id: str = ""
    per_viewer: int = 1
    claim_seconds: int = 60
    valid_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class RainSpec:
    """A red packet rain: ``pool`` minor units split into ``packets``."""

    title: str
    pool: int
    packets: int
    window_seconds: int = 20
    valid_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class Activity:
    """A drop or a rain as Redis keeps it, with its live figures."""

    activity_id: str
    kind: ActivityKind
    room_id: str
    title: str
    status: ActivityStatus
    raw: dict[str, str] = field(repr=False)

    def number(self, name: str) -> int:
        """An integer field (0 when absent)."""
        return int(self.raw.get(name) or 0)

    def view(self) -> dict[str, Any]:
        """The JSON view viewers and hosts see (room events, lists)."""
        common = {
            "title": self.title,
            "status": self.status,
            "starts_at_ms": self.number("starts_at") or None,
            "ends_at_ms": self.number("ends_at") or None,
            "expires_at_ms": self.number("expires_at") or None,
            "spent": self.number("spent"),
            "spent_amount": self.number("spent_amount"),
        }
        if self.kind == "drop":
            percent = self.raw.get("off_kind") == "percent"
            return {
                "drop_id": self.activity_id,
                **common,
                "amount_off": None if percent else self.number("off_value"),
                "percent_off": self.number("off_value") if percent else None,
                "min_spend": self.number("min_spend"),
                "offer_id": self.raw.get("offer_id") or None,
                "quota": self.number("quota"),
                "per_viewer": self.number("per_viewer"),
                "claimed": self.number("claimed"),
                "claim_seconds": self.number("window_ms") // 1000,
            }
        return {
            "rain_id": self.activity_id,
            **common,
            "pool": self.number("pool"),
            "packets": self.number("packets"),
            "grabbed": self.number("grabbed"),
            "grabbed_amount": self.number("grabbed_amount"),
            "window_seconds": self.number("window_ms") // 1000,
        }


@dataclass(frozen=True, slots=True)
class Claimed:
    """A viewer's claim or grab: the coupon or packet, and the activity's count."""

    item_id: str
    replayed: bool
    count: int
    total: int
    amount: int = 0
