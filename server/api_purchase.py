"""Buyer endpoints: reserve, confirm, cancel, and a hold's status."""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from stockkeeper.models import ConfirmResult, Hold, ReserveResult

from .appkeys import KEEPER, METRICS
from .auth import require_viewer
from .errors import ApiError
from .responses import json_response
from .validation import Int, Str, read_body

MAX_UNITS_PER_REQUEST = 100

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

_REJECTIONS: dict[str, tuple[int, str]] = {
    "sold_out": (409, "Sold out: every unit is taken. Units of unpaid holds may come back."),
    "limit_reached": (409, "You have reached the per-person limit for this offer."),
    "not_open": (409, "This offer has not opened yet; wait for the countdown."),
    "paused": (409, "The host has paused this offer; try again in a moment."),
    "closed": (409, "This offer has closed."),
    "unknown_offer": (404, "There is no such offer."),
    "invalid": (400, "This request cannot be a reservation."),
}


def hold_view(offer_id: str, result: ReserveResult) -> dict[str, Any]:
    return {
        "hold_id": result.hold_id,
        "offer_id": offer_id,
        "quantity": result.quantity,
        "status": result.status,
        "reserved_at_ms": result.reserved_at,
        "pay_by_ms": result.deadline,
    }


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
    return status, ApiError(status, result.outcome, message, **details).body()


def confirm_answer(result: ConfirmResult) -> tuple[int, dict[str, Any]]:
    if result.outcome == "confirmed":
        return 200, {
            "outcome": "confirmed",
            "order_id": result.order_id,
            "quantity": result.quantity,
            "amount": result.amount,
            "confirmed_at_ms": result.confirmed_at,
            "replayed": result.replayed,
            "late": result.late,
        }
    if result.outcome == "hold_expired":
        return 409, ApiError(
            409,
            "hold_expired",
            "Your hold ran out before payment and the units were sold to someone else. "
            "Your payment will be refunded.",
            refund_due=True,
        ).body()
    return 409, ApiError(
        409,
        "already_confirmed",
        "This hold was already paid. This second payment will be refunded.",
        order_id=result.order_id,
        refund_due=True,
    ).body()


def hold_status_view(hold: Hold) -> dict[str, Any]:
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


# Answered many thousand times a second when a rush meets a sold-out offer: encoded once.
_SOLD_OUT_BODY = orjson.dumps(reserve_answer("", ReserveResult("sold_out", available=0))[1])


async def reserve(request: web.Request) -> web.Response:
    viewer = require_viewer(request)
    body = await read_body(request, RESERVE_BODY)
    offer_id = request.match_info["offer_id"]
    result = await request.app[KEEPER].reserve(
        offer_id, viewer.user_id, body["quantity"], body["idempotency_key"]
    )
    request.app[METRICS].reservation(result.outcome, "http")
    if result.outcome == "sold_out" and result.available == 0:
        return web.Response(body=_SOLD_OUT_BODY, status=409, content_type="application/json")
    status, answer = reserve_answer(offer_id, result)
    return json_response(answer, status=status)


async def confirm(request: web.Request) -> web.Response:
    viewer = require_viewer(request)
    body = await read_body(request, CONFIRM_BODY)
    result = await request.app[KEEPER].confirm(
        request.match_info["hold_id"], viewer.user_id, body["payment_ref"]
    )
    status, answer = confirm_answer(result)
    return json_response(answer, status=status)


async def cancel(request: web.Request) -> web.Response:
    viewer = require_viewer(request)
    await read_body(request, ())
    result = await request.app[KEEPER].cancel(request.match_info["hold_id"], viewer.user_id)
    return json_response({"outcome": result.outcome, "available": result.available})


async def hold_status(request: web.Request) -> web.Response:
    viewer = require_viewer(request)
    hold = await request.app[KEEPER].get_hold(request.match_info["hold_id"], viewer.user_id)
    return json_response(hold_status_view(hold))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/offers/{offer_id}/reservations", reserve)
    app.router.add_get("/api/holds/{hold_id}", hold_status)
    app.router.add_post("/api/holds/{hold_id}/confirm", confirm)
    app.router.add_post("/api/holds/{hold_id}/cancel", cancel)
