"""Host endpoints of the show's numbers: watch time, interaction rate and conversion (with
their definitions), and the per-minute timeline, live and as CSV."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..appkeys import KEEPER, REDIS, WATCH_TIME
from ..audience.context import audience_figures
from ..audience.numbers import timeline_csv
from ..audience.rates import show_rates
from ..errors import ErrorCode
from ..shows.team import Right
from .auth import require_show_right
from .described import Auth, Content, Shape, answers
from .responses import json_response
from .routing import Routes

_SHOW = {
    403: (ErrorCode.NOT_YOUR_ROOM, ErrorCode.ROLE_FORBIDS),
    404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW),
}


class WatchTimeView(Shape):
    """Watch time per distinct signed-in viewer, in seconds."""

    distinct_viewers: int
    watching_now: int
    visits: int
    average_s: int
    median_s: int
    total_s: int


class MinuteView(Shape):
    """One minute of the show: most viewers at once, and what happened in it."""

    at_ms: int
    viewers: int
    chat_messages: int
    likes: int
    reservations: int
    orders: int
    #: Sales in the minute by currency, in minor units.
    gmv: dict[str, int]


class ShowNumbers(Shape):
    """The show's audience numbers so far."""

    server_time_ms: int
    watch_time: WatchTimeView
    distinct_viewers: int
    chatters: int
    buyers: int
    interaction_rate: float
    conversion: float
    #: How each figure is defined, as the console shows it.
    definitions: dict[str, str]
    timeline: list[MinuteView]


async def _numbers(request: web.Request, right: Right) -> dict[str, Any]:
    show = (await require_show_right(request, right)).show
    now_ms = request.app[WATCH_TIME].clock()
    rates = await show_rates(request.app[REDIS], show.room_id, keeper=request.app[KEEPER])
    figures = await audience_figures(request.app, show, now_ms)
    return {"server_time_ms": now_ms, **rates.as_dict(), **figures}


@answers(Auth.ROOM_HOST, {200: ShowNumbers}, _SHOW)
async def show_numbers(request: web.Request) -> web.Response:
    """Watch time, rates and the per-minute timeline (the console polls this every few
    seconds for its charts)."""
    return json_response(await _numbers(request, Right.VIEW_NUMBERS))


@answers(Auth.ROOM_HOST, {200: Content("text/csv")}, _SHOW)
async def timeline_as_csv(request: web.Request) -> web.Response:
    """The per-minute timeline so far as a CSV download (the owner only)."""
    numbers = await _numbers(request, Right.DOWNLOAD_REPORT)
    room_id = request.match_info["room_id"]
    return web.Response(
        text=timeline_csv(numbers["timeline"]),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{room_id}-timeline.csv"'},
    )


def add_routes(app: web.Application) -> None:
    """The show's numbers."""
    routes = Routes(app)
    routes.get("/api/shows/{room_id}/numbers", show_numbers)
    routes.get("/api/shows/{room_id}/timeline.csv", timeline_as_csv)
