"""Host endpoints of an offer's stock warning line (docs/operations.md, "Stock warning
lines")."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import WARNING_WATCHER
from ..errors import ErrorCode, Invalid
from ..shows.team import Right
from .auth import require_offer_host
from .described import Auth, Reader, Shape, answers, takes
from .responses import json_response
from .routing import Routes
from .warning_lines_bodies import WarningLineBody

_OFFER = {
    400: (ErrorCode.INVALID_FIELD,),
    403: (ErrorCode.NOT_YOUR_ROOM, ErrorCode.ROLE_FORBIDS),
    404: (ErrorCode.UNKNOWN_OFFER,),
}


class WarningLineView(Shape):
    """An offer's warning line: as set (units or share), whether it is armed (stock above
    it), how many times it fired, and where stock stands against it now."""

    offer_id: str
    units: int
    share: float
    armed: bool
    crossings: int
    available: int
    line: int


async def _view(request: web.Request, offer_id: str) -> web.Response:
    watcher = request.app[WARNING_WATCHER]
    line = await watcher.lines.get(offer_id)
    check = await watcher.check(offer_id) if line.is_set else None
    line = await watcher.lines.get(offer_id)
    return json_response(
        {
            "offer_id": offer_id,
            **line.as_dict(),
            "available": check.available if check else 0,
            "line": check.line if check else 0,
        }
    )


@answers(Auth.ROOM_HOST, {200: WarningLineView}, _OFFER)
@takes(WarningLineBody)
async def set_warning_line(request: web.Request, read: Reader[WarningLineBody]) -> web.Response:
    """Set the offer's warning line (units left, or a share of stock); both 0 clear it.
    Crossing it tells the console at once and sends one event to Kafka."""
    offer = await require_offer_host(request, request.match_info["offer_id"], Right.RUN_OFFERS)
    body = await read()
    if body.units and body.share:
        raise Invalid(
            ErrorCode.INVALID_FIELD, "Set the line in units or as a share, not both.", field="share"
        )
    watcher = request.app[WARNING_WATCHER]
    await watcher.lines.set_line(offer.id, body.units, body.share)
    if body.units or body.share:
        watcher.lined.add(offer.id)
    else:
        watcher.lined.discard(offer.id)
    return await _view(request, offer.id)


@answers(Auth.ROOM_HOST, {200: WarningLineView}, _OFFER)
async def get_warning_line(request: web.Request) -> web.Response:
    """The offer's warning line, and its stock against it now."""
    offer = await require_offer_host(request, request.match_info["offer_id"], Right.VIEW_NUMBERS)
    return await _view(request, offer.id)


def add_routes(app: web.Application) -> None:
    """The warning-line routes."""
    routes = Routes(app)
    routes.put("/api/offers/{offer_id}/warning-line", set_warning_line)
    routes.get("/api/offers/{offer_id}/warning-line", get_warning_line)
