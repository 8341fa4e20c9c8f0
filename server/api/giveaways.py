"""Giveaways: hosts create, start and redraw them; viewers enter (HTTP, the room socket's
``giveaway_enter``, or a keyword in chat) and winners claim; anyone reads a draw's record to
verify it (docs/giveaways.md)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from aiohttp import web

from ..appkeys import GIVEAWAY_DRAWING, GIVEAWAYS
from ..errors import Conflict, ErrorCode
from ..giveaways.models import Giveaway
from ..shows.store import Show
from ..shows.team import Right
from .auth import require_show_right, require_viewer
from .bodies import Empty
from .decoding import convert_message
from .described import Auth, Reader, Shape, answers, takes
from .giveaways_bodies import CreateGiveaway, GiveawayEnterMessage, Shipping
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .socket_actions import SocketCall, add_chat_listener, add_socket_action

log = logging.getLogger(__name__)

_SHOW = {404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW)}
_GIVEAWAY = {404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW, ErrorCode.UNKNOWN_GIVEAWAY)}
_UNKNOWN = {404: (ErrorCode.UNKNOWN_GIVEAWAY,)}


class Winner(Shape):
    """A winner: who, in which round (0 = the draw), and whether they claimed the prize."""

    user_id: str
    name: str
    round: int
    claimed: bool


class Mine(Shape):
    """The calling viewer's own standing in a giveaway."""

    entered: bool
    won: bool
    claim_until_ms: int | None
    order_id: str | None


class GiveawayView(Shape):
    """A giveaway as anyone sees it: the seed and the entry list's hash once drawn."""

    giveaway_id: str
    room_id: str
    title: str
    sku: str
    prizes: int
    window_s: int
    rule: Literal["any", "keyword", "watched", "bought"]
    keyword: str | None
    min_watch_s: int
    state: Literal["draft", "open", "closing", "drawn"]
    created_at_ms: int
    started_at_ms: int | None
    ends_at_ms: int | None
    commitment: str | None
    entries: int
    seed: str | None
    entries_hash: str | None
    round: int
    claim_until_ms: int | None
    winners: list[Winner]
    verify_url: str
    #: With a viewer token only.
    me: Mine | None = None


class GiveawayList(Shape):
    """A room's giveaways, newest first."""

    giveaways: list[GiveawayView]


class EntryAnswer(Shape):
    """An entry: ``entered`` now, or ``already_entered`` before (nothing changed)."""

    giveaway_id: str
    outcome: Literal["entered", "already_entered"]
    entries: int


class ClaimAnswer(Shape):
    """A claimed prize: its zero-amount order (``replayed`` when claimed before)."""

    giveaway_id: str
    order_id: str
    confirmed_at_ms: int | None
    replayed: bool


class DrawRound(Shape):
    """One round of a draw: prizes drawn for, who was left out (banned), the winners."""

    round: int
    prizes: int
    excluded: list[str]
    winners: list[str]


class DrawRecord(Shape):
    """What ``livesale verify-draw`` reads to recompute the winners (docs/giveaways.md)."""

    algorithm: str
    giveaway_id: str
    room_id: str
    title: str
    prizes: int
    commitment: str
    seed: str
    entries_hash: str
    entries: list[str]
    rounds: list[DrawRound]


async def _own_show(request: web.Request, right: Right = Right.RUN_OFFERS) -> Show:
    """The show of the room in the path, when the caller's role in it gives ``right``."""
    return (await require_show_right(request, right)).show


async def _own_giveaway(request: web.Request) -> tuple[Show, Giveaway]:
    show = await _own_show(request)
    giveaway_id = request.match_info["giveaway_id"]
    return show, await request.app[GIVEAWAYS].in_room(show.room_id, giveaway_id)


async def _start(request: web.Request, show: Show, giveaway: Giveaway) -> Giveaway:
    if show.status != "live":
        raise Conflict(ErrorCode.SHOW_NOT_LIVE, "Go live before starting a giveaway.")
    return await request.app[GIVEAWAYS].start(giveaway)


@answers(
    Auth.ROOM_HOST,
    {201: GiveawayView},
    {**_SHOW, 409: (ErrorCode.SHOW_ENDED, ErrorCode.SHOW_NOT_LIVE)},
)
@takes(CreateGiveaway)
async def create_giveaway(request: web.Request, read: Reader[CreateGiveaway]) -> web.Response:
    """Create a giveaway in the host's show, started at once unless ``start`` is false."""
    show = await _own_show(request)
    if show.status == "ended":
        raise Conflict(ErrorCode.SHOW_ENDED, "This show has ended.")
    body = await read()
    if body.start and show.status != "live":
        raise Conflict(ErrorCode.SHOW_NOT_LIVE, "Go live before starting a giveaway.")
    giveaways = request.app[GIVEAWAYS]
    giveaway = await giveaways.create(show.room_id, show.host_id, body.spec())
    if body.start:
        giveaway = await giveaways.start(giveaway)
    return json_response(await giveaways.view(giveaway), status=201)


@answers(Auth.ROOM_HOST, {200: GiveawayList}, _SHOW)
async def show_giveaways(request: web.Request) -> web.Response:
    """The show's giveaways for its host, drafts included, newest first."""
    show = await _own_show(request, Right.VIEW_NUMBERS)
    giveaways = request.app[GIVEAWAYS]
    found = await giveaways.of_room(show.room_id, drafts=True)
    return json_response({"giveaways": [await giveaways.view(g) for g in found]})


@answers(Auth.ROOM_HOST, {200: GiveawayView}, {**_GIVEAWAY, 409: (ErrorCode.SHOW_NOT_LIVE,)})
@takes(Empty)
async def start_giveaway(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Open a draft giveaway's entry window (starting one again changes nothing)."""
    show, giveaway = await _own_giveaway(request)
    await read()
    started = await _start(request, show, giveaway)
    return json_response(await request.app[GIVEAWAYS].view(started))


@answers(
    Auth.ROOM_HOST,
    {200: GiveawayView},
    {
        **_GIVEAWAY,
        409: (
            ErrorCode.GIVEAWAY_NOT_DRAWN,
            ErrorCode.CLAIM_WINDOW_OPEN,
            ErrorCode.NOTHING_TO_REDRAW,
        ),
    },
)
@takes(Empty)
async def redraw_giveaway(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Draw new winners for the prizes nobody claimed within the claim window."""
    _, giveaway = await _own_giveaway(request)
    await read()
    redrawn = await request.app[GIVEAWAY_DRAWING].redraw(giveaway)
    return json_response(await request.app[GIVEAWAYS].view(redrawn))


_OPTIONAL_VIEWER = {401: (ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED)}


@answers(Auth.ANYONE, {200: GiveawayList}, {404: (ErrorCode.UNKNOWN_ROOM,), **_OPTIONAL_VIEWER})
async def room_giveaways(request: web.Request) -> web.Response:
    """The room's giveaways (not drafts), newest first; with a viewer token (optional),
    each says whether the viewer entered, won and claimed."""
    room_id = room_in_path(request)
    user_id = require_viewer(request).user_id if "Authorization" in request.headers else None
    giveaways = request.app[GIVEAWAYS]
    views = []
    for giveaway in await giveaways.of_room(room_id):
        view = await giveaways.view(giveaway)
        if user_id is not None:
            view["me"] = await giveaways.mine(giveaway, user_id)
        views.append(view)
    return json_response({"giveaways": views})


@answers(Auth.ANYONE, {200: GiveawayView}, _UNKNOWN)
async def one_giveaway(request: web.Request) -> web.Response:
    """A giveaway as anyone sees it."""
    giveaways = request.app[GIVEAWAYS]
    found = await giveaways.get(request.match_info["giveaway_id"])
    return json_response(await giveaways.view(found))


@answers(Auth.ANYONE, {200: DrawRecord}, {**_UNKNOWN, 409: (ErrorCode.GIVEAWAY_NOT_DRAWN,)})
async def draw_record(request: web.Request) -> web.Response:
    """The draw's public record: seed, sorted entries and each round's winners, for
    ``livesale verify-draw`` (or anyone's own implementation of docs/giveaways.md)."""
    giveaways = request.app[GIVEAWAYS]
    found = await giveaways.get(request.match_info["giveaway_id"])
    return json_response(await giveaways.draw_record(found))


_ENTRY_ERRORS = {
    **_UNKNOWN,
    401: (ErrorCode.TOKEN_REQUIRED, ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED),
    403: (ErrorCode.BANNED, ErrorCode.ENTRY_RULE_NOT_MET),
    409: (ErrorCode.GIVEAWAY_NOT_OPEN, ErrorCode.GIVEAWAY_CLOSED),
}


@answers(Auth.VIEWER, {201: EntryAnswer, 200: EntryAnswer}, _ENTRY_ERRORS)
@takes(Empty)
async def enter_giveaway(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Enter a giveaway (201); entering again answers 200 ``already_entered``."""
    viewer = require_viewer(request)
    await read()
    entry = await request.app[GIVEAWAYS].enter(
        request.match_info["giveaway_id"], viewer.user_id, viewer.name
    )
    body = {"giveaway_id": entry.giveaway_id, "outcome": entry.outcome, "entries": entry.entries}
    return json_response(body, status=201 if entry.outcome == "entered" else 200)


@answers(
    Auth.VIEWER,
    {201: ClaimAnswer, 200: ClaimAnswer},
    {
        **_UNKNOWN,
        401: (ErrorCode.TOKEN_REQUIRED, ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED),
        403: (ErrorCode.NOT_A_WINNER, ErrorCode.BANNED),
        409: (ErrorCode.GIVEAWAY_NOT_DRAWN, ErrorCode.CLAIM_WINDOW_OVER),
    },
)
@takes(Shipping)
async def claim_prize(request: web.Request, read: Reader[Shipping]) -> web.Response:
    """A winner claims the prize with shipping details: a zero-amount order (201); claiming
    again answers the same order (200, ``replayed``)."""
    viewer = require_viewer(request)
    shipping = await read()
    claimed = await request.app[GIVEAWAYS].claim(
        request.match_info["giveaway_id"], viewer.user_id, shipping.as_dict()
    )
    body = {
        "giveaway_id": claimed.giveaway_id,
        "order_id": claimed.order_id,
        "confirmed_at_ms": claimed.confirmed_at or None,
        "replayed": claimed.replayed,
    }
    return json_response(body, status=200 if claimed.replayed else 201)


async def enter_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
    """``giveaway_enter``: enter over the room socket; answers ``giveaway_entered``."""
    user_id = call.signed_in()
    wanted = convert_message(message, GiveawayEnterMessage)
    giveaways = call.app[GIVEAWAYS]
    found = await giveaways.in_room(call.room_id, wanted.giveaway_id)
    name = call.viewer.name if call.viewer else user_id
    entry = await giveaways.enter(found.id, user_id, name)
    return {
        "type": "giveaway_entered",
        "giveaway_id": entry.giveaway_id,
        "outcome": entry.outcome,
        "entries": entry.entries,
    }


async def enter_by_keyword(call: SocketCall, text: str) -> dict[str, Any]:
    """A chat message with an open giveaway's keyword enters its sender; the chat_ack then
    lists the giveaways entered (``giveaways_entered``)."""
    if call.viewer is None:
        return {}
    try:
        entered = await call.app[GIVEAWAYS].enter_by_chat(
            call.room_id, call.viewer.user_id, call.viewer.name, text
        )
    except Exception:
        # The message is posted whatever happens here: its sender still gets the ack.
        log.exception("Keyword entry failed in room %s", call.room_id)
        return {}
    return {"giveaways_entered": entered} if entered else {}


def add_routes(app: web.Application) -> None:
    """The giveaway routes, the ``giveaway_enter`` socket message and the keyword entry."""
    routes = Routes(app)
    routes.post("/api/shows/{room_id}/giveaways", create_giveaway)
    routes.get("/api/shows/{room_id}/giveaways", show_giveaways)
    routes.post("/api/shows/{room_id}/giveaways/{giveaway_id}/start", start_giveaway)
    routes.post("/api/shows/{room_id}/giveaways/{giveaway_id}/redraw", redraw_giveaway)
    routes.get("/api/rooms/{room_id}/giveaways", room_giveaways)
    routes.get("/api/giveaways/{giveaway_id}", one_giveaway)
    routes.get("/api/giveaways/{giveaway_id}/draw", draw_record)
    routes.post("/api/giveaways/{giveaway_id}/entries", enter_giveaway)
    routes.post("/api/giveaways/{giveaway_id}/claim", claim_prize)
    add_socket_action(app, "giveaway_enter", enter_by_socket)
    add_chat_listener(app, enter_by_keyword)
