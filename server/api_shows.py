"""Host endpoints for shows: line-up, go live, launch, dashboard, end and report.

A show lives in a room. Its line-up is the room's offers; these endpoints add the
workflow of the host console on top of the offer and room endpoints.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from stockkeeper.errors import StockKeeperError

from .api_offers import CREATE_BODY, add_offer, check_offer, launch, offer_view, spec_of
from .api_room import _room_id
from .appkeys import KEEPER, REDIS, ROOM_PUBLISHER, SHOWS
from .auth import require_host
from .errors import ApiError, bad_request
from .responses import json_response
from .shows.figures import report_csv, show_figures
from .shows.store import Show
from .validation import SLUG, SLUG_HINT, Str, check_fields, read_body, read_json_object

MAX_PRODUCTS = 50
TITLE = Str("title", re.compile(r"[^\x00-\x1f]{1,120}"), "1-120 characters on one line")
#: A product in a line-up is an offer of this room: the offer's fields without room_id.
PRODUCT_SPEC = tuple(f for f in CREATE_BODY if f.name != "room_id")


def show_view(show: Show) -> dict[str, Any]:
    return {
        "room_id": show.room_id,
        "title": show.title,
        "status": show.status,
        "created_at_ms": show.created_at,
        "live_at_ms": show.live_at,
        "ended_at_ms": show.ended_at,
        "watch_url": f"/watch/{show.room_id}",
    }


def _products(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list) or len(data) > MAX_PRODUCTS:
        raise bad_request(
            "invalid_field",
            f"'products' must be a list of at most {MAX_PRODUCTS}.",
            field="products",
        )
    checked = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise bad_request("invalid_field", f"Product {index + 1} must be an object.")
        try:
            checked.append(check_offer(check_fields(item, PRODUCT_SPEC)))
        except ApiError as exc:
            exc.details["product"] = index
            exc.message = f"Product {index + 1}: {exc.message}"
            raise
    return checked


async def _own_show(request: web.Request) -> Show:
    caller = await require_host(request)
    return await request.app[SHOWS].require(_room_id(request), caller.host_id)


async def create_show(request: web.Request) -> web.Response:
    """Create a show in a new room, with its line-up of products (each becomes an offer)."""
    caller = await require_host(request)
    data = await read_json_object(request)
    body = check_fields(
        data, (Str("room_id", SLUG, SLUG_HINT), TITLE), ignore=frozenset({"products"})
    )
    products = _products(data.get("products"))
    show = await request.app[SHOWS].create(body["room_id"], caller.host_id, body["title"])
    offers = [
        await add_offer(request.app, spec_of({**product, "room_id": show.room_id}))
        for product in products
    ]
    return json_response(
        {**show_view(show), "offers": [offer_view(offer) for offer in offers]}, status=201
    )


async def add_product(request: web.Request) -> web.Response:
    show = await _own_show(request)
    if show.status == "ended":
        raise ApiError(409, "show_ended", "This show has ended.")
    product = check_offer(await read_body(request, PRODUCT_SPEC))
    offer = await add_offer(request.app, spec_of({**product, "room_id": show.room_id}))
    return json_response(offer_view(offer), status=201)


async def my_shows(request: web.Request) -> web.Response:
    caller = await require_host(request)
    shows = await request.app[SHOWS].for_host(caller.host_id)
    return json_response({"shows": [show_view(show) for show in shows]})


async def dashboard(request: web.Request) -> web.Response:
    """The live figures of the host's show (the console polls this about once a second)."""
    show = await _own_show(request)
    figures = await show_figures(request.app[REDIS], request.app[KEEPER], show)
    return json_response({**figures, "watch_url": f"/watch/{show.room_id}"})


async def go_live(request: web.Request) -> web.Response:
    show = await _own_show(request)
    await read_body(request, ())
    live = await request.app[SHOWS].go_live(show)
    if show.status != "live":
        await request.app[ROOM_PUBLISHER].publish(show.room_id, "show_live", {"title": show.title})
    return json_response(show_view(live))


async def launch_offer(request: web.Request) -> web.Response:
    """Launch a line-up product with its countdown and sale window, and pin it."""
    show = await _own_show(request)
    await read_body(request, ())
    if show.status != "live":
        raise ApiError(409, "show_not_live", "Go live before launching an offer.")
    offer = await request.app[KEEPER].get_offer(request.match_info["offer_id"])
    if offer.room_id != show.room_id:
        raise bad_request("offer_not_in_room", "That offer belongs to another room.")
    offer = await launch(
        request.app,
        offer.id,
        countdown_ms=offer.countdown_s * 1000,
        window_ms=(offer.window_s or 600) * 1000,
    )
    await request.app[ROOM_PUBLISHER].set_state(
        show.room_id, "pinned_offer", pinned_offer_id=offer.id
    )
    return json_response(offer_view(offer))


async def end_show(request: web.Request) -> web.Response:
    """Close every offer still on sale, and freeze the show's report."""
    show = await _own_show(request)
    await read_body(request, ())
    if show.status == "ended":
        return json_response(orjson.loads(await _saved_report(request, show)))
    keeper, publisher = request.app[KEEPER], request.app[ROOM_PUBLISHER]
    for offer in await keeper.room_offers(show.room_id):
        if offer.state in ("open", "paused", "draft"):
            try:
                closed = await keeper.close_offer(offer.id)
            except StockKeeperError:
                continue  # closed meanwhile by another request: nothing left to close
            await publisher.publish(show.room_id, "offer_closed", {"offer": offer_view(closed)})
    ended = await request.app[SHOWS].end(show)
    report = await show_figures(request.app[REDIS], keeper, ended)
    await request.app[SHOWS].save_report(show.room_id, orjson.dumps(report))
    await publisher.publish(show.room_id, "show_ended", {"title": show.title})
    return json_response(report)


async def _saved_report(request: web.Request, show: Show) -> bytes:
    if show.status != "ended":
        raise ApiError(409, "show_not_ended", "The report is ready when the show ends.")
    saved = await request.app[SHOWS].saved_report(show.room_id)
    if saved is None:
        raise ApiError(409, "show_not_ended", "The report is still being written; try again.")
    return saved.encode()


async def report_json(request: web.Request) -> web.Response:
    show = await _own_show(request)
    body = await _saved_report(request, show)
    return web.Response(
        body=body,
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{show.room_id}-report.json"'},
    )


async def report_as_csv(request: web.Request) -> web.Response:
    show = await _own_show(request)
    report = orjson.loads(await _saved_report(request, show))
    return web.Response(
        text=report_csv(report),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{show.room_id}-report.csv"'},
    )


async def public_room(request: web.Request) -> web.Response:
    """What a viewer page shows before joining: the show's title and whether it is live."""
    room_id = _room_id(request)
    show = await request.app[SHOWS].get(room_id)
    if show is None:
        return json_response({"room_id": room_id, "title": room_id, "status": None})
    return json_response({"room_id": room_id, "title": show.title, "status": show.status})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/shows", create_show)
    app.router.add_get("/api/shows", my_shows)
    app.router.add_get("/api/shows/{room_id}", dashboard)
    app.router.add_post("/api/shows/{room_id}/products", add_product)
    app.router.add_post("/api/shows/{room_id}/live", go_live)
    app.router.add_post("/api/shows/{room_id}/offers/{offer_id}/launch", launch_offer)
    app.router.add_post("/api/shows/{room_id}/end", end_show)
    app.router.add_get("/api/shows/{room_id}/report.json", report_json)
    app.router.add_get("/api/shows/{room_id}/report.csv", report_as_csv)
    app.router.add_get("/api/rooms/{room_id}", public_room)
