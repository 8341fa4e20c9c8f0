"""Tiered sales goals: the host sets them; anyone reads them with the show's progress."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import GOALS
from ..errors import Conflict, ErrorCode
from ..shows.team import Right
from .auth import require_show_right
from .described import Auth, Reader, Shape, answers, takes
from .engage_bodies import SetGoals
from .paths import room_in_path
from .responses import json_response
from .routing import Routes


class TierView(Shape):
    """A tier: its threshold, what it starts, and whether (and when) the show reached it.
    ``reward_status``: ``pending`` while its reward is being started, then ``started``
    (``failed`` after every try failed; the log says why); null before it is reached."""

    threshold: int
    label: str
    kind: str
    reached: bool
    reached_at_ms: int | None
    reward_status: str | None


class GoalsView(Shape):
    """A show's goals and its figure now (``value``: units sold, or GMV in minor units of
    ``currency``); no goals: ``metric`` null and no tiers."""

    room_id: str
    metric: str | None
    currency: str | None
    value: int
    tiers: list[TierView]


@answers(
    Auth.ROOM_HOST,
    {200: GoalsView},
    {
        400: (
            ErrorCode.UNKNOWN_REWARD,
            ErrorCode.THRESHOLDS_NOT_INCREASING,
            ErrorCode.CURRENCY_NEEDED,
            ErrorCode.INVALID_REWARD,
        ),
        404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW),
        409: (ErrorCode.SHOW_ENDED, ErrorCode.GOAL_REACHED),
    },
)
@takes(SetGoals)
async def set_goals(request: web.Request, read: Reader[SetGoals]) -> web.Response:
    """Set the show's goals: tiers of units sold or GMV, each starting a reward once reached.
    Tiers the show already reached stay as they were; new goals may add tiers above them."""
    show = (await require_show_right(request, Right.RUN_OFFERS)).show
    if show.status == "ended":
        raise Conflict(ErrorCode.SHOW_ENDED, "This show has ended.")
    body = await read()
    tiers = [
        {"threshold": tier.threshold, "reward": tier.reward, "label": tier.label}
        for tier in body.tiers
    ]
    view = await request.app[GOALS].set(show, body.metric, body.currency, tiers)
    return json_response(view)


@answers(Auth.ANYONE, {200: GoalsView}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def room_goals(request: web.Request) -> web.Response:
    """The show's goals and progress, as its viewers' progress bar shows them."""
    return json_response(await request.app[GOALS].view(room_in_path(request)))


def add_routes(app: web.Application) -> None:
    """The goals' routes."""
    routes = Routes(app)
    routes.put("/api/shows/{room_id}/goals", set_goals)
    routes.get("/api/rooms/{room_id}/goals", room_goals)
