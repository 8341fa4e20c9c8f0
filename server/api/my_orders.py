"""A buyer's own view: every hold and order across shows, and what they may still buy."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from stockkeeper.ids import HOLD_ID, offer_of_hold

from ..appkeys import KEEPER, ORDERS
from ..errors import ErrorCode, Invalid
from ..orders.ledger import OrderKind, OrderState
from .auth import require_viewer
from .described import Auth, Shape, answers
from .paths import room_in_path
from .responses import json_response
from .routing import Routes


class MyOrderView(Shape):
    """One hold, order or claimed prize of the buyer, with where it stands."""

    hold_id: str
    offer_id: str
    room_id: str
    title: str
    sku: str
    image_url: str
    currency: str
    unit_price: int
    quantity: int
    state: OrderState
    reserved_at_ms: int
    pay_by_ms: int
    order_id: str | None
    confirmed_at_ms: int | None
    carrier: str | None
    tracking: str | None
    status_at_ms: int | None
    #: ``prize``: a giveaway's prize the viewer won and claimed (no hold, no offer, no price).
    kind: OrderKind


class MyOrders(Shape):
    """The buyer's holds, orders and claimed prizes, newest first (at most 100)."""

    orders: list[MyOrderView]


class MyOfferUnits(Shape):
    """What the buyer may still take of one offer."""

    offer_id: str
    per_user_limit: int
    units_already: int


class MyRoomOffers(Shape):
    """Every offer of a room, with the buyer's units of each."""

    offers: list[MyOfferUnits]


#: The most ``hold`` values one read may name (a page names the holds of its last minute).
MOST_JUST_MADE = 20


@answers(
    Auth.VIEWER,
    {200: MyOrders},
    {400: (ErrorCode.INVALID_FIELD,)},
    query={
        "hold": (
            {
                "type": "array",
                "items": {"type": "string", "pattern": HOLD_ID.pattern},
                "maxItems": MOST_JUST_MADE,
            },
            "Holds the viewer was just answered (repeat the parameter for each): each is "
            "listed if it is theirs, even when the server process that answered the press "
            "has not written it into their orders yet.",
        )
    },
)
async def my_orders(request: web.Request) -> web.Response:
    """The signed-in viewer's holds, orders and claimed giveaway prizes in every show: held
    (pay by), paid, shipped (carrier, tracking number), delivered, refunded, cancelled or
    expired."""
    viewer = require_viewer(request)
    just_made = _just_made(request)
    orders = await request.app[ORDERS].of_user(viewer.user_id, just_made=just_made)
    return json_response({"orders": [dataclasses.asdict(order) for order in orders]})


def _just_made(request: web.Request) -> list[str]:
    """The ``hold`` parameters: hold ids, at most ``MOST_JUST_MADE``, or ``Invalid``."""
    named = request.query.getall("hold", [])
    if len(named) > MOST_JUST_MADE:
        raise Invalid(
            ErrorCode.INVALID_FIELD,
            f"Name at most {MOST_JUST_MADE} holds in one read.",
            field="hold",
        )
    for hold_id in named:
        if offer_of_hold(hold_id) is None:
            raise Invalid(
                ErrorCode.INVALID_FIELD, f"{hold_id[:40]!r} is not a hold id.", field="hold"
            )
    return list(dict.fromkeys(named))


@answers(Auth.VIEWER, {200: MyRoomOffers}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def my_room_offers(request: web.Request) -> web.Response:
    """For each offer of the room: its per-person limit and the units the signed-in viewer
    holds or bought (the page's quantity stepper goes up to the difference)."""
    viewer = require_viewer(request)
    room_id = room_in_path(request)
    offers = await request.app[KEEPER].room_offers(room_id)
    units = await request.app[ORDERS].units(viewer.user_id, offers)
    return json_response({"offers": [dataclasses.asdict(one) for one in units]})


def add_routes(app: web.Application) -> None:
    """The buyer's own routes."""
    routes = Routes(app)
    routes.get("/api/me/orders", my_orders)
    routes.get("/api/me/rooms/{room_id}/offers", my_room_offers)
