"""What a payment takes off its price: a coupon and store credit locked for the hold by
their owner (server/coupons, docs/coupons.md). The stock keeper only books them with the
order, in hold_confirm.lua; it knows nothing of drops or rains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import StockKeeperError


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """A coupon locked for one hold under ``token``: amount or percent off, a minimum
    spend, and the one offer it is for ("" = any offer of the show)."""

    token: str
    coupon_id: str
    off_kind: Literal["amount", "percent"]
    off_value: int
    min_spend: int = 0
    offer_id: str = ""


@dataclass(frozen=True, slots=True)
class CreditLock:
    """Store credit (a red packet's balance) locked for one hold under ``token``."""

    token: str
    balance: int


@dataclass(frozen=True, slots=True)
class Benefits:
    """A coupon and credit to apply to one payment; the confirm script computes what each
    gives and books it with the order."""

    coupon: CouponTerms | None = None
    credits: tuple[CreditLock, ...] = ()

    def script_args(self) -> list[str | int]:
        """hold_confirm.lua's ARGV[7..]."""
        c = self.coupon
        args: list[str | int] = (
            [c.token, c.coupon_id, c.off_kind, c.off_value, c.min_spend, c.offer_id]
            if c is not None
            else ["", "", "", 0, 0, ""]
        )
        for credit in self.credits:
            args += [credit.token, credit.balance]
        return args


class BenefitLockLost(StockKeeperError):
    """A coupon or credit lock was given up before the payment reached the hold: nothing
    was booked; lock again and retry."""

    retriable = True

    def __init__(self, token: str) -> None:
        super().__init__(f"The lock {token} was given up before the payment")
        self.token = token


class BenefitRefused(StockKeeperError):
    """The coupon does not apply to this hold (another offer, below its minimum spend):
    nothing was booked."""

    def __init__(self, reason: Literal["wrong_offer", "min_spend"], min_spend: int) -> None:
        super().__init__(f"The coupon does not apply: {reason}")
        self.reason = reason
        self.min_spend = min_spend
