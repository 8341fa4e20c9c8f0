"""Buyer endpoints: reserve, confirm, cancel, and a hold's status."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import KEEPER, METRICS
from .answers import SOLD_OUT_BODY, confirm_answer, reserve_answer
from .auth import require_viewer
from .bodies import Confirm, Empty, Reserve
from .decoding import read_body
from .responses import json_response
from .views import hold_status_view


async def reserve(request: web.Request) -> web.Response:
    """Hold units of an offer for the signed-in viewer (the buy button)."""
    viewer = require_viewer(request)
    body = await read_body(request, Reserve)
    offer_id = request.match_info["offer_id"]
    result = await request.app[KEEPER].reserve(
        offer_id, viewer.user_id, body.quantity, body.idempotency_key
    )
    request.app[METRICS].reservation(result.outcome, "http")
    if result.outcome == "sold_out" and result.available == 0:
        return web.Response(body=SOLD_OUT_BODY, status=409, content_type="application/json")
    status, answer = reserve_answer(offer_id, result)
    return json_response(answer, status=status)


async def confirm(request: web.Request) -> web.Response:
    """Turn a hold into an order once it is paid."""
    viewer = require_viewer(request)
    body = await read_body(request, Confirm)
    result = await request.app[KEEPER].confirm(
        request.match_info["hold_id"], viewer.user_id, body.payment_ref
    )
    status, answer = confirm_answer(result)
    return json_response(answer, status=status)


async def cancel(request: web.Request) -> web.Response:
    """Give a hold's units back."""
    viewer = require_viewer(request)
    await read_body(request, Empty)
    result = await request.app[KEEPER].cancel(request.match_info["hold_id"], viewer.user_id)
    return json_response({"outcome": result.outcome, "available": result.available})


async def hold_status(request: web.Request) -> web.Response:
    """One of the viewer's holds."""
    viewer = require_viewer(request)
    hold = await request.app[KEEPER].get_hold(request.match_info["hold_id"], viewer.user_id)
    return json_response(hold_status_view(hold))


def add_routes(app: web.Application) -> None:
    """The buyer's routes."""
    app.router.add_post("/api/offers/{offer_id}/reservations", reserve)
    app.router.add_get("/api/holds/{hold_id}", hold_status)
    app.router.add_post("/api/holds/{hold_id}/confirm", confirm)
    app.router.add_post("/api/holds/{hold_id}/cancel", cancel)
