"""Host endpoints for shows: line-up, go live, launch, dashboard, end and report.

A show lives in a room. Its line-up is the room's offers; these endpoints add the
workflow of the host console on top of the line-up (server/lineup.py).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from ..appkeys import (
    KEEPER,
    LINEUP,
    REDIS,
    REPORT_SECTIONS,
    ROOM_PUBLISHER,
    SHOW_SCHEDULE,
    SHOWS,
    TEAM,
)
from ..errors import Conflict, ErrorCode
from ..shows.figures import report_csv, show_figures
from ..shows.schedule import stage_view
from ..shows.store import Show, ShowStatus
from ..shows.team import RIGHTS, Right, Role
from .auth import require_host, require_show_right
from .bodies import CreateShow, Empty, Product
from .described import Auth, Content, Reader, Shape, answers, takes
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .views import Dashboard, OfferView, ShowReport, ShowView, offer_view, show_view

_SHOW = {404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW)}
_REPORT = {**_SHOW, 409: (ErrorCode.SHOW_NOT_ENDED,)}


class NewShow(ShowView, kw_only=True):
    """A new show, with the offers of its line-up."""

    offers: list[OfferView]


class TeamShowView(ShowView, kw_only=True):
    """A show in the host's list, with the host's role in it and what that role may do."""

    role: Role
    rights: list[Right]


class HostShows(Shape):
    """The host's own shows and those they are on the team of, newest first."""

    shows: list[TeamShowView]


class ShowDashboard(Dashboard, kw_only=True):
    """The live figures of a show, with the caller's role in it and what that role may do
    (the console shows only what the role may do)."""

    role: Role
    rights: list[Right]


class PublicRoom(Shape):
    """A room as a viewer page sees it before joining (no show yet: its name, no status),
    with the show's schedule and video (server/api/schedule.py)."""

    room_id: str
    title: str
    status: ShowStatus | None
    starts_at_ms: int = 0
    cover_url: str = ""
    description: str = ""
    stream_url: str = ""
    replay_url: str = ""


async def _own_show(request: web.Request, right: Right) -> Show:
    return (await require_show_right(request, right)).show


def _rights(role: Role) -> list[Right]:
    return sorted(RIGHTS[role])


@answers(Auth.ROOM_HOST, {201: NewShow}, {409: (ErrorCode.SHOW_EXISTS,)})
@takes(CreateShow)
async def create_show(request: web.Request, read: Reader[CreateShow]) -> web.Response:
    """Create a show in a new room, with its line-up of products (each becomes an offer)."""
    caller = await require_host(request)
    body = await read()
    show = await request.app[SHOWS].create(body.room_id, caller.host_id, body.title)
    lineup = request.app[LINEUP]
    offers = [await lineup.add(product.spec(show.room_id)) for product in body.products]
    return json_response(
        {**show_view(show), "offers": [offer_view(offer) for offer in offers]}, status=201
    )


@answers(Auth.ROOM_HOST, {201: OfferView}, {**_SHOW, 409: (ErrorCode.SHOW_ENDED,)})
@takes(Product)
async def add_product(request: web.Request, read: Reader[Product]) -> web.Response:
    """Add a product to the line-up of a show that has not ended."""
    show = await _own_show(request, Right.RUN_OFFERS)
    if show.status == "ended":
        raise Conflict(ErrorCode.SHOW_ENDED, "This show has ended.")
    product = await read()
    offer = await request.app[LINEUP].add(product.spec(show.room_id))
    return json_response(offer_view(offer), status=201)


@answers(Auth.HOST, {200: HostShows})
async def my_shows(request: web.Request) -> web.Response:
    """The host's own shows and those they are on the team of, newest first."""
    caller = await require_host(request)
    store = request.app[SHOWS]
    listed = [(show, Role.OWNER) for show in await store.for_host(caller.host_id)]
    for room_id, role in (await request.app[TEAM].shows_of(caller.host_id)).items():
        show = await store.get(room_id)
        if show is not None and show.host_id != caller.host_id:
            listed.append((show, role))
    listed.sort(key=lambda pair: pair[0].created_at, reverse=True)
    return json_response(
        {
            "shows": [
                {**show_view(show), "role": role, "rights": _rights(role)} for show, role in listed
            ]
        }
    )


@answers(Auth.ROOM_HOST, {200: ShowDashboard}, _SHOW)
async def dashboard(request: web.Request) -> web.Response:
    """The live figures of the show, and the caller's role in it (the console polls this
    about once a second)."""
    access = await require_show_right(request, Right.VIEW_NUMBERS)
    show = access.show
    figures = await show_figures(request.app[REDIS], request.app[KEEPER], show)
    return json_response(
        {
            **figures,
            "watch_url": f"/watch/{show.room_id}",
            "role": access.role,
            "rights": _rights(access.role),
        }
    )


@answers(Auth.ROOM_HOST, {200: ShowView}, {**_SHOW, 409: (ErrorCode.SHOW_ENDED,)})
@takes(Empty)
async def go_live(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Go live; viewers are told the first time."""
    show = await _own_show(request, Right.GO_LIVE)
    await read()
    live = await request.app[SHOWS].go_live(show)
    if show.status != "live":
        await request.app[ROOM_PUBLISHER].publish(show.room_id, "show_live", {"title": show.title})
    await request.app[SHOW_SCHEDULE].went_live(live)  # listed as live; 'live' reminders go
    return json_response(show_view(live))


@answers(
    Auth.ROOM_HOST,
    {200: OfferView},
    {
        400: (ErrorCode.OFFER_NOT_IN_ROOM,),
        404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW, ErrorCode.UNKNOWN_OFFER),
        409: (ErrorCode.SHOW_NOT_LIVE, ErrorCode.INVALID_STATE),
        422: (ErrorCode.INVALID_WINDOW,),
    },
)
@takes(Empty)
async def launch_offer(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Launch a line-up product with its countdown and sale window, and pin it."""
    show = await _own_show(request, Right.RUN_OFFERS)
    await read()
    offer = await request.app[LINEUP].launch_in_show(show, request.match_info["offer_id"])
    return json_response(offer_view(offer))


@answers(Auth.ROOM_HOST, {200: ShowReport}, _REPORT)
@takes(Empty)
async def end_show(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Close every offer still on sale, and freeze the show's report (the owner only)."""
    show = await _own_show(request, Right.END_SHOW)
    await read()
    if show.status == "ended":
        return json_response(orjson.loads(await _saved_report(request, show)))
    await request.app[LINEUP].close_all(show.room_id)
    ended = await request.app[SHOWS].end(show)
    report = await show_figures(request.app[REDIS], request.app[KEEPER], ended)
    report["sections"] = await request.app[REPORT_SECTIONS].build(ended)
    await request.app[SHOWS].save_report(show.room_id, orjson.dumps(report))
    await request.app[ROOM_PUBLISHER].publish(show.room_id, "show_ended", {"title": show.title})
    return json_response(report)


async def _saved_report(request: web.Request, show: Show) -> bytes:
    if show.status != "ended":
        raise Conflict(ErrorCode.SHOW_NOT_ENDED, "The report is ready when the show ends.")
    saved = await request.app[SHOWS].saved_report(show.room_id)
    if saved is None:
        raise Conflict(ErrorCode.SHOW_NOT_ENDED, "The report is still being written; try again.")
    return saved.encode()


@answers(Auth.ROOM_HOST, {200: ShowReport}, _REPORT)
async def report_json(request: web.Request) -> web.Response:
    """The ended show's report as a JSON download."""
    show = await _own_show(request, Right.DOWNLOAD_REPORT)
    body = await _saved_report(request, show)
    return web.Response(
        body=body,
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{show.room_id}-report.json"'},
    )


@answers(Auth.ROOM_HOST, {200: Content("text/csv")}, _REPORT)
async def report_as_csv(request: web.Request) -> web.Response:
    """The ended show's report as a CSV download."""
    show = await _own_show(request, Right.DOWNLOAD_REPORT)
    report = orjson.loads(await _saved_report(request, show))
    return web.Response(
        text=report_csv(report),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{show.room_id}-report.csv"'},
    )


@answers(Auth.ANYONE, {200: PublicRoom}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def public_room(request: web.Request) -> web.Response:
    """What a viewer page shows before joining: the show's title and whether it is live."""
    room_id = room_in_path(request)
    show = await request.app[SHOWS].get(room_id)
    if show is None:
        return json_response({"room_id": room_id, "title": room_id, "status": None})
    return json_response(
        {"room_id": room_id, "title": show.title, "status": show.status, **stage_view(show)}
    )


def add_routes(app: web.Application) -> None:
    """The show routes."""
    routes = Routes(app)
    routes.post("/api/shows", create_show)
    routes.get("/api/shows", my_shows)
    routes.get("/api/shows/{room_id}", dashboard)
    routes.post("/api/shows/{room_id}/products", add_product)
    routes.post("/api/shows/{room_id}/live", go_live)
    routes.post("/api/shows/{room_id}/offers/{offer_id}/launch", launch_offer)
    routes.post("/api/shows/{room_id}/end", end_show)
    routes.get("/api/shows/{room_id}/report.json", report_json)
    routes.get("/api/shows/{room_id}/report.csv", report_as_csv)
    routes.get("/api/rooms/{room_id}", public_room)
