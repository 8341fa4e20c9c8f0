"""Answers to reservations and payments, the same over HTTP and a room socket."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from stockkeeper.models import ConfirmResult, ReserveResult

from ..errors import ErrorCode
from .described import Shape
from .errors import error_body
from .views import HoldView, hold_view

_REJECTIONS: dict[str, tuple[int, str]] = {
    ErrorCode.SOLD_OUT: (
        409,
        "Sold out: every unit is taken. Units of unpaid holds may come back.",
    ),
    ErrorCode.LIMIT_REACHED: (409, "You have reached the per-person limit for this offer."),
    ErrorCode.NOT_OPEN: (409, "This offer has not opened yet; wait for the countdown."),
    ErrorCode.PAUSED: (409, "The host has paused this offer; try again in a moment."),
    ErrorCode.CLOSED: (409, "This offer has closed."),
    ErrorCode.UNKNOWN_OFFER: (404, "There is no such offer."),
    ErrorCode.INVALID: (400, "This request cannot be a reservation."),
}


class Reserved(Shape):
    """A reservation that holds units (201, or 200 when it repeats an earlier press)."""

    outcome: Literal["reserved"]
    hold: HoldView
    available: int | None
    replayed: bool


def reserve_answer(offer_id: str, result: ReserveResult) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of a reservation outcome (shared with the room socket)."""
    if result.outcome == "reserved":
        body = {
            "outcome": "reserved",
            "hold": hold_view(offer_id, result),
            "available": result.available,
            "replayed": result.replayed,
        }
        return (200 if result.replayed else 201), body
    status, message = _REJECTIONS[result.outcome]
    details: dict[str, Any] = {}
    if result.available is not None:
        details["available"] = result.available
    if result.limit is not None:
        details.update(limit=result.limit, units_already=result.units_already)
    if result.opens_at is not None:
        details["opens_at_ms"] = result.opens_at
    if result.reason is not None:
        details["reason"] = result.reason
    return status, error_body(result.outcome, message, **details)


#: Answered many thousand times a second when a rush meets a sold-out offer: encoded once.
SOLD_OUT_BODY = orjson.dumps(reserve_answer("", ReserveResult("sold_out", available=0))[1])


class Confirmed(Shape):
    """A paid hold, now an order."""

    outcome: Literal["confirmed"]
    order_id: str | None
    quantity: int
    amount: int
    confirmed_at_ms: int | None
    replayed: bool
    late: bool
    #: Taken off by the coupon (``coupon_id``) and by red packet credit; ``amount`` is what
    #: was paid: quantity x unit price - discount - credit.
    discount: int
    credit: int
    coupon_id: str | None


class PaidForGroup(Shape):
    """A group member's payment, kept until the group forms (202): the order (this id)
    is written when it forms; if it fails, the payment is refunded (docs/groups.md)."""

    outcome: Literal["paid"]
    order_id: str | None
    amount: int
    paid_at_ms: int | None
    replayed: bool
    group_id: str


def confirm_answer(result: ConfirmResult) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of a payment's outcome (shared with the room socket)."""
    if result.outcome == "paid":
        return 202, {
            "outcome": "paid",
            "order_id": result.order_id,
            "amount": result.amount,
            "paid_at_ms": result.confirmed_at,
            "replayed": result.replayed,
            "group_id": result.group_id,
        }
    if result.outcome == "group_failed":
        return 409, error_body(
            ErrorCode.GROUP_FAILED,
            "Your group did not fill in time. Your payment will be refunded.",
            group_id=result.group_id,
            refund_due=True,
        )
    if result.outcome == "confirmed":
        return 200, {
            "outcome": "confirmed",
            "order_id": result.order_id,
            "quantity": result.quantity,
            "amount": result.amount,
            "confirmed_at_ms": result.confirmed_at,
            "replayed": result.replayed,
            "late": result.late,
            "discount": result.discount,
            "credit": result.credit,
            "coupon_id": result.coupon_id or None,
        }
    if result.outcome == "hold_expired":
        return 409, error_body(
            ErrorCode.HOLD_EXPIRED,
            "Your hold ran out before payment and the units were sold to someone else. "
            "Your payment will be refunded.",
            refund_due=True,
        )
    return 409, error_body(
        ErrorCode.ALREADY_CONFIRMED,
        "This hold was already paid. This second payment will be refunded.",
        order_id=result.order_id,
        refund_due=True,
    )
