"""A show's schedule and stage: its set-up (start, cover, description, stream, replay), the
front page's list of live and upcoming shows, and viewers' reminders."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..appkeys import REMINDERS, ROOM_PUBLISHER, SETTINGS, SHOW_SCHEDULE, SHOWS
from ..errors import ErrorCode, NotFound
from ..shows.schedule import stage_view
from ..shows.store import Show, ShowStatus
from ..shows.team import Right
from .auth import require_show_right, require_viewer
from .bodies import Empty
from .described import Auth, Reader, Shape, answers, takes
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .schedule_bodies import ShowSetup

_SHOW = {404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW)}


class ListedShow(Shape):
    """A live or upcoming show as the front page lists it."""

    room_id: str
    title: str
    status: ShowStatus
    starts_at_ms: int
    live_at_ms: int
    cover_url: str
    description: str
    watch_url: str


class Schedule(Shape):
    """Live shows first, then upcoming ones by start time."""

    shows: list[ListedShow]


class ReminderFigures(Shape):
    """Viewers who asked to be reminded, and reminders sent at each moment."""

    asked: int
    sent_soon: int
    sent_live: int
    dropped: int


class SetupView(Shape):
    """A show's set-up as its host sees it, with its reminder figures."""

    room_id: str
    status: ShowStatus
    starts_at_ms: int
    cover_url: str
    description: str
    stream_url: str
    replay_url: str
    reminders: ReminderFigures
    #: Where the pages may play video from besides this server (LIVESALE_MEDIA_ORIGINS): a
    #: stream elsewhere is refused by viewers' browsers.
    media_origins: list[str]


class ReminderAnswer(Shape):
    """The viewer will be reminded; how many viewers asked so far."""

    room_id: str
    asked: bool
    viewers: int


class MyReminder(Shape):
    """Whether the signed-in viewer asked to be reminded of the show."""

    room_id: str
    asked: bool


def listed_view(show: Show) -> dict[str, Any]:
    """A show as the front page lists it."""
    return {
        "room_id": show.room_id,
        "title": show.title,
        "status": show.status,
        "starts_at_ms": show.starts_at,
        "live_at_ms": show.live_at,
        "cover_url": show.cover_url,
        "description": show.description,
        "watch_url": f"/watch/{show.room_id}",
    }


async def _own_show(request: web.Request, right: Right) -> Show:
    return (await require_show_right(request, right)).show


async def _setup_view(request: web.Request, show: Show) -> dict[str, Any]:
    counts = await request.app[REMINDERS].counts(show.room_id)
    return {
        "room_id": show.room_id,
        "status": show.status,
        **stage_view(show),
        "reminders": {
            "asked": counts.asked,
            "sent_soon": counts.sent_soon,
            "sent_live": counts.sent_live,
            "dropped": counts.dropped,
        },
        "media_origins": list(request.app[SETTINGS].schedule.media_origins),
    }


@answers(Auth.ANYONE, {200: Schedule})
async def schedule(request: web.Request) -> web.Response:
    """Live shows, then upcoming ones by start time (the front page's list)."""
    shows = await request.app[SHOW_SCHEDULE].listed()
    return json_response({"shows": [listed_view(show) for show in shows]})


@answers(Auth.ROOM_HOST, {200: SetupView}, _SHOW)
async def get_setup(request: web.Request) -> web.Response:
    """The show's set-up and how many viewers asked to be reminded."""
    show = await _own_show(request, Right.VIEW_NUMBERS)
    return json_response(await _setup_view(request, show))


@answers(Auth.ROOM_HOST, {200: SetupView}, _SHOW)
@takes(ShowSetup)
async def set_up(request: web.Request, read: Reader[ShowSetup]) -> web.Response:
    """Change the show's start, cover, description, stream or replay (fields left out are
    kept). A new start time moves reminders not yet sent; viewers get ``show_setup``."""
    # Whoever may take the show live may set its stream and schedule (owner, operators).
    show = await _own_show(request, Right.GO_LIVE)
    body = await read()
    changed = await request.app[SHOW_SCHEDULE].set_up(show, body.changes())
    await request.app[ROOM_PUBLISHER].publish(show.room_id, "show_setup", stage_view(changed))
    return json_response(await _setup_view(request, changed))


async def _public_show(request: web.Request) -> Show:
    show = await request.app[SHOWS].get(room_in_path(request))
    if show is None:
        raise NotFound(ErrorCode.UNKNOWN_SHOW, "There is no show in this room.")
    return show


@answers(
    Auth.VIEWER,
    {200: ReminderAnswer},
    {**_SHOW, 409: (ErrorCode.SHOW_ALREADY_LIVE, ErrorCode.SHOW_ENDED)},
)
@takes(Empty)
async def ask_reminder(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Remind the signed-in viewer before the show starts and when it goes live (asking
    again changes nothing)."""
    viewer = require_viewer(request)
    show = await _public_show(request)
    await read()
    viewers = await request.app[REMINDERS].ask(show, viewer.user_id)
    return json_response({"room_id": show.room_id, "asked": True, "viewers": viewers})


@answers(Auth.VIEWER, {200: MyReminder}, _SHOW)
async def my_reminder(request: web.Request) -> web.Response:
    """Whether the signed-in viewer asked to be reminded of the show."""
    viewer = require_viewer(request)
    show = await _public_show(request)
    asked = await request.app[REMINDERS].asked(show.room_id, viewer.user_id)
    return json_response({"room_id": show.room_id, "asked": asked})


def add_routes(app: web.Application) -> None:
    """The schedule, set-up and reminder routes."""
    routes = Routes(app)
    routes.get("/api/schedule", schedule)
    routes.get("/api/shows/{room_id}/setup", get_setup)
    routes.patch("/api/shows/{room_id}/setup", set_up)
    routes.post("/api/rooms/{room_id}/reminders", ask_reminder)
    routes.get("/api/rooms/{room_id}/reminders/me", my_reminder)
