"""Polls: the host creates, starts and ends them; viewers vote over HTTP or the room socket."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..appkeys import POLLS, REDIS
from ..errors import Conflict, ErrorCode, Forbidden
from ..polls.polls import unknown_poll
from ..room.keys import RoomKeys
from ..shows.store import Show
from ..shows.team import Right
from .auth import require_show_right, require_viewer
from .bodies import Empty
from .decoding import convert_message
from .described import Auth, Reader, Shape, answers, takes
from .engage_bodies import CreatePoll, PollVoteMessage, Vote
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .socket_actions import SocketCall, add_socket_action

_POLL_ID = re.compile(r"[0-9]{1,12}")
_SHOW = {404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW)}
_POLL = {404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW, ErrorCode.UNKNOWN_POLL)}


class PollView(Shape):
    """A poll with its live counts (``counts[i]``: votes for ``answers[i]``)."""

    poll_id: str
    room_id: str
    question: str
    answers: list[str]
    allow_change: bool
    window_s: int
    state: str
    created_at_ms: int
    opens_at_ms: int
    closes_at_ms: int
    counts: list[int]
    votes: int


class PollList(Shape):
    """The room's newest polls, newest first."""

    polls: list[PollView]


class VoteResult(Shape):
    """A vote taken: ``voted``, ``changed`` or ``unchanged`` (the same answer again)."""

    poll_id: str
    answer: int
    outcome: str
    counts: list[int]


def _poll_in_path(request: web.Request) -> str:
    poll_id = request.match_info["poll_id"]
    if not _POLL_ID.fullmatch(poll_id):
        raise unknown_poll()
    return poll_id


async def _own_show(request: web.Request, right: Right = Right.RUN_OFFERS) -> Show:
    """The show of the room in the path, when the caller's role in it gives ``right``."""
    return (await require_show_right(request, right)).show


@answers(
    Auth.ROOM_HOST,
    {201: PollView},
    {**_SHOW, 409: (ErrorCode.SHOW_ENDED,)},
)
@takes(CreatePoll)
async def create_poll(request: web.Request, read: Reader[CreatePoll]) -> web.Response:
    """Ask the room a question with 2-4 answers; with ``start`` it takes votes at once."""
    show = await _own_show(request)
    if show.status == "ended":
        raise Conflict(ErrorCode.SHOW_ENDED, "This show has ended.")
    body = await read()
    polls = request.app[POLLS]
    view = await polls.create(
        show.room_id, body.question, body.answers, body.window_seconds, body.allow_change
    )
    if body.start:
        view = await polls.start(show.room_id, view["poll_id"])
    return json_response(view, status=201)


@answers(Auth.ROOM_HOST, {200: PollView}, {**_POLL, 409: (ErrorCode.INVALID_STATE,)})
@takes(Empty)
async def start_poll(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Start a poll created without ``start``: it takes votes for its window from now."""
    show = await _own_show(request)
    poll_id = _poll_in_path(request)
    await read()
    return json_response(await request.app[POLLS].start(show.room_id, poll_id))


@answers(Auth.ROOM_HOST, {200: PollView}, _POLL)
@takes(Empty)
async def end_poll(request: web.Request, read: Reader[Empty]) -> web.Response:
    """End a poll now (before its window ends); ending it again changes nothing."""
    show = await _own_show(request)
    poll_id = _poll_in_path(request)
    await read()
    return json_response(await request.app[POLLS].end(show.room_id, poll_id))


@answers(Auth.ANYONE, {200: PollList}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def room_polls(request: web.Request) -> web.Response:
    """The room's newest polls with their counts (public, like the room's events)."""
    room_id = room_in_path(request)
    return json_response({"polls": await request.app[POLLS].of_room(room_id)})


async def _vote(
    app: web.Application, room_id: str, user_id: str, poll_id: str, answer: int
) -> dict[str, Any]:
    if await app[REDIS].sismember(RoomKeys(room_id).banned, user_id):
        raise Forbidden(ErrorCode.BANNED, "You have been removed from this room.")
    reply = await app[POLLS].vote(room_id, poll_id, user_id, answer)
    return {"poll_id": poll_id, "answer": answer, "outcome": reply.outcome, "counts": reply.counts}


_VOTE_ERRORS = {
    400: (ErrorCode.UNKNOWN_ANSWER,),
    403: (ErrorCode.BANNED,),
    404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_POLL),
    409: (ErrorCode.POLL_NOT_OPEN, ErrorCode.POLL_CLOSED, ErrorCode.ALREADY_VOTED),
}


@answers(Auth.VIEWER, {200: VoteResult}, _VOTE_ERRORS)
@takes(Vote)
async def vote(request: web.Request, read: Reader[Vote]) -> web.Response:
    """Vote in an open poll (once; again only to change it, when the poll allows that)."""
    room_id = room_in_path(request)
    viewer = require_viewer(request)
    poll_id = _poll_in_path(request)
    body = await read()
    return json_response(await _vote(request.app, room_id, viewer.user_id, poll_id, body.answer))


async def vote_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
    """``poll_vote`` on the room socket: the same as the HTTP vote."""
    user_id = call.signed_in()
    body = convert_message(message, PollVoteMessage)
    result = await _vote(call.app, call.room_id, user_id, body.poll_id, body.answer)
    return {"type": "poll_vote_result", **result}


def add_routes(app: web.Application) -> None:
    """The poll routes and the ``poll_vote`` socket message."""
    routes = Routes(app)
    routes.post("/api/shows/{room_id}/polls", create_poll)
    routes.post("/api/shows/{room_id}/polls/{poll_id}/start", start_poll)
    routes.post("/api/shows/{room_id}/polls/{poll_id}/end", end_poll)
    routes.get("/api/rooms/{room_id}/polls", room_polls)
    routes.post("/api/rooms/{room_id}/polls/{poll_id}/votes", vote)
    add_socket_action(app, "poll_vote", vote_by_socket)
