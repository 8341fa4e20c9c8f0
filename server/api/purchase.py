"""Buyer endpoints: reserve, confirm, cancel, and a hold's status."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from ..appkeys import CHECKOUT, KEEPER, METRICS
from ..errors import ErrorCode
from .answers import (
    SOLD_OUT_BODY,
    Confirmed,
    PaidForGroup,
    Reserved,
    confirm_answer,
    reserve_answer,
)
from .auth import refuse_banned, require_viewer
from .bodies import Confirm, Empty, Reserve
from .described import Auth, Reader, Shape, answers, takes
from .responses import json_response
from .routing import Routes
from .views import HoldStatusView, hold_status_view


@answers(
    Auth.VIEWER,
    {201: Reserved, 200: Reserved},
    {
        400: (ErrorCode.INVALID,),
        403: (ErrorCode.BANNED,),
        404: (ErrorCode.UNKNOWN_OFFER,),
        409: (
            ErrorCode.SOLD_OUT,
            ErrorCode.LIMIT_REACHED,
            ErrorCode.NOT_OPEN,
            ErrorCode.PAUSED,
            ErrorCode.CLOSED,
        ),
    },
)
@takes(Reserve)
async def reserve(request: web.Request, read: Reader[Reserve]) -> web.Response:
    """Hold units of an offer for the signed-in viewer (the buy button).

    201 with a new hold; 200 with the same hold when the press repeats an earlier one
    (same idempotency key).
    """
    viewer = require_viewer(request)
    body = await read()
    offer_id = request.match_info["offer_id"]
    app = request.app  # a property: read once on the hottest route
    await refuse_banned(app, offer_id, viewer.user_id)
    result = await app[KEEPER].reserve(
        offer_id, viewer.user_id, body.quantity, body.idempotency_key
    )
    app[METRICS].reservation(result.outcome, "http")
    if result.outcome == "sold_out" and result.available == 0:
        return web.Response(body=SOLD_OUT_BODY, status=409, content_type="application/json")
    status, answer = reserve_answer(offer_id, result)
    return json_response(answer, status=status)


@answers(
    Auth.VIEWER,
    {200: Confirmed, 202: PaidForGroup},
    {
        404: (ErrorCode.UNKNOWN_HOLD, ErrorCode.UNKNOWN_COUPON),
        409: (
            ErrorCode.HOLD_EXPIRED,
            ErrorCode.ALREADY_CONFIRMED,
            ErrorCode.GROUP_FAILED,
            ErrorCode.COUPON_EXPIRED,
            ErrorCode.COUPON_USED,
            ErrorCode.COUPON_IN_USE,
            ErrorCode.CREDIT_IN_USE,
            ErrorCode.COUPON_MIN_SPEND,
            ErrorCode.COUPON_WRONG_OFFER,
        ),
    },
)
@takes(Confirm)
async def confirm(request: web.Request, read: Reader[Confirm]) -> web.Response:
    """Turn a hold into an order once it is paid, with a coupon and credit if asked."""
    viewer = require_viewer(request)
    body = await read()
    result = await request.app[CHECKOUT].confirm(
        request.match_info["hold_id"],
        viewer.user_id,
        body.payment_ref,
        body.coupon_id,
        body.use_credit,
    )
    status, answer = confirm_answer(result)
    return json_response(answer, status=status)


class Cancelled(Shape):
    """A hold given up (or one that had already expired)."""

    outcome: Literal["cancelled", "expired"]
    available: int | None


@answers(
    Auth.VIEWER,
    {200: Cancelled},
    {404: (ErrorCode.UNKNOWN_HOLD,), 409: (ErrorCode.ALREADY_CONFIRMED,)},
)
@takes(Empty)
async def cancel(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Give a hold's units back."""
    viewer = require_viewer(request)
    await read()
    result = await request.app[KEEPER].cancel(request.match_info["hold_id"], viewer.user_id)
    return json_response({"outcome": result.outcome, "available": result.available})


@answers(Auth.VIEWER, {200: HoldStatusView}, {404: (ErrorCode.UNKNOWN_HOLD,)})
async def hold_status(request: web.Request) -> web.Response:
    """One of the viewer's holds."""
    viewer = require_viewer(request)
    hold = await request.app[KEEPER].get_hold(request.match_info["hold_id"], viewer.user_id)
    return json_response(hold_status_view(hold))


def add_routes(app: web.Application) -> None:
    """The buyer's routes."""
    routes = Routes(app)
    routes.post("/api/offers/{offer_id}/reservations", reserve)
    routes.get("/api/holds/{hold_id}", hold_status)
    routes.post("/api/holds/{hold_id}/confirm", confirm)
    routes.post("/api/holds/{hold_id}/cancel", cancel)
