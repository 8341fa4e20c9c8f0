"""Host endpoints to create and run offers, and public reads of offers."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from aiohttp import web

from stockkeeper.buckets import MAX_BUCKETS
from stockkeeper.models import Offer, OfferSpec, StockLevel

from .appkeys import KEEPER, ROOM_HUB, ROOM_PUBLISHER
from .auth import require_host, require_offer_host, require_room_host
from .errors import bad_request
from .responses import json_response
from .validation import SLUG, SLUG_HINT, Int, Str, read_body

MAX_STOCK = 10_000_000
IMAGE_URL = re.compile(r"(https://[^\s\"'<>]{1,492})?")
EPOCH_MS_MAX = 10**13

CREATE_BODY = (
    Str("room_id", SLUG, SLUG_HINT),
    Str("sku", SLUG, SLUG_HINT),
    Str("title", re.compile(r"[^\x00-\x1f]{1,200}"), "1-200 characters on one line"),
    Int("unit_price", 0, 10**9),
    Str("currency", re.compile(r"[A-Z]{3}"), "an ISO 4217 code such as EUR"),
    Int("stock", 1, MAX_STOCK),
    Int("per_user_limit", 1, 1000, required=False, default=1),
    Int("hold_seconds", 1, 86_400, required=False, default=300),
    Int("opens_at_ms", 0, EPOCH_MS_MAX, required=False, default=0),
    Int("closes_at_ms", 0, EPOCH_MS_MAX, required=False, default=0),
    Str(
        "image_url",
        IMAGE_URL,
        "an https:// address of at most 500 characters",
        required=False,
        default="",
    ),
    Int("countdown_seconds", 0, 3600, required=False, default=10),
    Int("window_seconds", 1, 7 * 86_400, required=False, default=600),
    # A hot offer's stock split over this many Redis slots; see docs/scaling.md.
    Int("buckets", 1, MAX_BUCKETS, required=False, default=1),
)
OPEN_BODY = (
    Int("countdown_seconds", 0, 3600, required=False),
    Int("window_seconds", 1, 7 * 86_400, required=False),
)
QUANTITY_BODY = (Int("quantity", 1, MAX_STOCK),)


def offer_view(offer: Offer) -> dict[str, Any]:
    view = dataclasses.asdict(offer)
    view["opens_at_ms"] = view.pop("opens_at")
    view["closes_at_ms"] = view.pop("closes_at")
    view["created_at_ms"] = view.pop("created_at")
    # Sales counters are the host's business (the show dashboard), not the public's.
    del view["reservations"], view["orders"]
    return view


def stock_view(level: StockLevel) -> dict[str, Any]:
    return dataclasses.asdict(level)


async def _tell_room(request: web.Request, type_: str, offer: Offer) -> None:
    """Every viewer of the offer's room sees what the host just did."""
    await request.app[ROOM_PUBLISHER].publish(offer.room_id, type_, {"offer": offer_view(offer)})


async def create_offer(request: web.Request) -> web.Response:
    await require_host(request)
    body = check_offer(await read_body(request, CREATE_BODY))
    await require_room_host(request, body["room_id"])
    offer = await add_offer(request.app, spec_of(body))
    return json_response(offer_view(offer), status=201)


def check_offer(body: dict[str, Any]) -> dict[str, Any]:
    """What the field checks alone cannot see; the body when it is fine."""
    if body["buckets"] > body["stock"]:
        raise bad_request(
            "invalid_field", "Field 'buckets' must be at most the stock.", field="buckets"
        )
    return body


def spec_of(body: dict[str, Any]) -> OfferSpec:
    return OfferSpec(
        room_id=body["room_id"],
        sku=body["sku"],
        title=body["title"],
        unit_price=body["unit_price"],
        currency=body["currency"],
        stock=body["stock"],
        per_user_limit=body["per_user_limit"],
        hold_seconds=body["hold_seconds"],
        opens_at=body["opens_at_ms"],
        closes_at=body["closes_at_ms"],
        image_url=body["image_url"],
        countdown_s=body["countdown_seconds"],
        window_s=body["window_seconds"],
        buckets=body["buckets"],
    )


async def add_offer(app: web.Application, spec: OfferSpec) -> Offer:
    """Create an offer and show it in its room's line-up."""
    offer = await app[KEEPER].create_offer(spec)
    await app[ROOM_PUBLISHER].publish(offer.room_id, "offer_added", {"offer": offer_view(offer)})
    return offer


async def get_offer(request: web.Request) -> web.Response:
    offer = await request.app[KEEPER].get_offer(request.match_info["offer_id"])
    return json_response(offer_view(offer))


async def room_offers(request: web.Request) -> web.Response:
    offers = await request.app[KEEPER].room_offers(request.match_info["room_id"])
    return json_response({"offers": [offer_view(offer) for offer in offers]})


async def open_offer(request: web.Request) -> web.Response:
    await require_offer_host(request, request.match_info["offer_id"])
    body = await read_body(request, OPEN_BODY)
    countdown, window = body["countdown_seconds"], body["window_seconds"]
    offer = await launch(
        request.app,
        request.match_info["offer_id"],
        countdown_ms=None if countdown is None else countdown * 1000,
        window_ms=None if window is None else window * 1000,
    )
    return json_response(offer_view(offer))


async def launch(
    app: web.Application, offer_id: str, *, countdown_ms: int | None, window_ms: int | None
) -> Offer:
    """Open an offer after a countdown and tell its room."""
    offer = await app[KEEPER].open_offer(offer_id, countdown_ms=countdown_ms, window_ms=window_ms)
    # The countdown ends at opens_at on the server's clock; viewers count down to it.
    await app[ROOM_PUBLISHER].publish(
        offer.room_id,
        "offer_announced",
        {"offer": offer_view(offer), "countdown_ends_at_ms": offer.opens_at},
    )
    app[ROOM_HUB].announce_open_at(offer.room_id, offer.id, offer.opens_at)
    return offer


async def pause_offer(request: web.Request) -> web.Response:
    await require_offer_host(request, request.match_info["offer_id"])
    await read_body(request, ())
    offer = await request.app[KEEPER].pause_offer(request.match_info["offer_id"])
    await _tell_room(request, "offer_paused", offer)
    return json_response(offer_view(offer))


async def resume_offer(request: web.Request) -> web.Response:
    await require_offer_host(request, request.match_info["offer_id"])
    await read_body(request, ())
    offer = await request.app[KEEPER].resume_offer(request.match_info["offer_id"])
    await _tell_room(request, "offer_open", offer)
    return json_response(offer_view(offer))


async def close_offer(request: web.Request) -> web.Response:
    await require_offer_host(request, request.match_info["offer_id"])
    await read_body(request, ())
    offer = await request.app[KEEPER].close_offer(request.match_info["offer_id"])
    await _tell_room(request, "offer_closed", offer)
    return json_response(offer_view(offer))


async def restock(request: web.Request) -> web.Response:
    await require_offer_host(request, request.match_info["offer_id"])
    body = await read_body(request, QUANTITY_BODY)
    level = await request.app[KEEPER].restock(request.match_info["offer_id"], body["quantity"])
    return json_response(stock_view(level))


async def pull_stock(request: web.Request) -> web.Response:
    await require_offer_host(request, request.match_info["offer_id"])
    body = await read_body(request, QUANTITY_BODY)
    level = await request.app[KEEPER].pull_stock(request.match_info["offer_id"], body["quantity"])
    return json_response(stock_view(level))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/offers", create_offer)
    app.router.add_get("/api/offers/{offer_id}", get_offer)
    app.router.add_get("/api/rooms/{room_id}/offers", room_offers)
    app.router.add_post("/api/offers/{offer_id}/open", open_offer)
    app.router.add_post("/api/offers/{offer_id}/pause", pause_offer)
    app.router.add_post("/api/offers/{offer_id}/resume", resume_offer)
    app.router.add_post("/api/offers/{offer_id}/close", close_offer)
    app.router.add_post("/api/offers/{offer_id}/restock", restock)
    app.router.add_post("/api/offers/{offer_id}/pull", pull_stock)
