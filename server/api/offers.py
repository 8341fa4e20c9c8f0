"""Host endpoints to create and run offers, and public reads of offers."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import KEEPER, LINEUP
from ..errors import ErrorCode
from .auth import require_host, require_offer_host, require_room_host
from .bodies import CreateOffer, Empty, OpenOffer, StockChange
from .described import Auth, Reader, Shape, answers, takes
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .views import OfferView, StockView, offer_view, stock_view

_UNKNOWN = {404: (ErrorCode.UNKNOWN_OFFER,)}
_MOVES = {**_UNKNOWN, 409: (ErrorCode.INVALID_STATE,)}


class RoomOffers(Shape):
    """A room's offers."""

    offers: list[OfferView]


@answers(Auth.ROOM_HOST, {201: OfferView})
@takes(CreateOffer)
async def create_offer(request: web.Request, read: Reader[CreateOffer]) -> web.Response:
    """A new draft offer in a room the host runs; the room's viewers see it added."""
    await require_host(request)
    body = await read()
    await require_room_host(request, body.room_id)
    offer = await request.app[LINEUP].add(body.spec(body.room_id))
    return json_response(offer_view(offer), status=201)


@answers(Auth.ANYONE, {200: OfferView}, _UNKNOWN)
async def get_offer(request: web.Request) -> web.Response:
    """One offer, as anyone may see it."""
    offer = await request.app[KEEPER].get_offer(request.match_info["offer_id"])
    return json_response(offer_view(offer))


@answers(Auth.ANYONE, {200: RoomOffers}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def room_offers(request: web.Request) -> web.Response:
    """A room's offers, as anyone may see them."""
    offers = await request.app[KEEPER].room_offers(room_in_path(request))
    return json_response({"offers": [offer_view(offer) for offer in offers]})


@answers(Auth.ROOM_HOST, {200: OfferView}, {**_MOVES, 422: (ErrorCode.INVALID_WINDOW,)})
@takes(OpenOffer)
async def open_offer(request: web.Request, read: Reader[OpenOffer]) -> web.Response:
    """Launch an offer: on sale after its countdown, for its window."""
    await require_offer_host(request, request.match_info["offer_id"])
    body = await read()
    countdown, window = body.countdown_seconds, body.window_seconds
    offer = await request.app[LINEUP].launch(
        request.match_info["offer_id"],
        countdown_ms=None if countdown is None else countdown * 1000,
        window_ms=None if window is None else window * 1000,
    )
    return json_response(offer_view(offer))


@answers(Auth.ROOM_HOST, {200: OfferView}, _MOVES)
@takes(Empty)
async def pause_offer(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Stop reservations for a while."""
    await require_offer_host(request, request.match_info["offer_id"])
    await read()
    offer = await request.app[LINEUP].pause(request.match_info["offer_id"])
    return json_response(offer_view(offer))


@answers(Auth.ROOM_HOST, {200: OfferView}, _MOVES)
@takes(Empty)
async def resume_offer(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Take reservations again."""
    await require_offer_host(request, request.match_info["offer_id"])
    await read()
    offer = await request.app[LINEUP].resume(request.match_info["offer_id"])
    return json_response(offer_view(offer))


@answers(Auth.ROOM_HOST, {200: OfferView}, _MOVES)
@takes(Empty)
async def close_offer(request: web.Request, read: Reader[Empty]) -> web.Response:
    """End the sale for good."""
    await require_offer_host(request, request.match_info["offer_id"])
    await read()
    offer = await request.app[LINEUP].close(request.match_info["offer_id"])
    return json_response(offer_view(offer))


@answers(Auth.ROOM_HOST, {200: StockView}, _MOVES)
@takes(StockChange)
async def restock(request: web.Request, read: Reader[StockChange]) -> web.Response:
    """Add units to an offer."""
    await require_offer_host(request, request.match_info["offer_id"])
    body = await read()
    level = await request.app[KEEPER].restock(request.match_info["offer_id"], body.quantity)
    return json_response(stock_view(level))


@answers(
    Auth.ROOM_HOST,
    {200: StockView},
    {**_MOVES, 409: (ErrorCode.INVALID_STATE, ErrorCode.INSUFFICIENT_STOCK)},
)
@takes(StockChange)
async def pull_stock(request: web.Request, read: Reader[StockChange]) -> web.Response:
    """Take available units off sale."""
    await require_offer_host(request, request.match_info["offer_id"])
    body = await read()
    level = await request.app[KEEPER].pull_stock(request.match_info["offer_id"], body.quantity)
    return json_response(stock_view(level))


def add_routes(app: web.Application) -> None:
    """The offer routes."""
    routes = Routes(app)
    routes.post("/api/offers", create_offer)
    routes.get("/api/offers/{offer_id}", get_offer)
    routes.get("/api/rooms/{room_id}/offers", room_offers)
    routes.post("/api/offers/{offer_id}/open", open_offer)
    routes.post("/api/offers/{offer_id}/pause", pause_offer)
    routes.post("/api/offers/{offer_id}/resume", resume_offer)
    routes.post("/api/offers/{offer_id}/close", close_offer)
    routes.post("/api/offers/{offer_id}/restock", restock)
    routes.post("/api/offers/{offer_id}/pull", pull_stock)
