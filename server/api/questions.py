"""Questions: viewers mark chat messages as questions; the host lists them and pins one
with an answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..appkeys import QUESTIONS, REDIS
from ..errors import ErrorCode, Forbidden
from ..room.keys import RoomKeys
from ..shows.store import Show
from ..shows.team import Right
from .auth import require_show_right, require_viewer
from .bodies import Empty
from .decoding import convert_message
from .described import Auth, Reader, Shape, answers, takes
from .engage_bodies import AnswerQuestion, MarkQuestion, QuestionMarkMessage
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .socket_actions import SocketCall, add_socket_action

_SHOW = {404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW)}


class QuestionView(Shape):
    """A chat message viewers marked as a question: who wrote it, how many viewers asked
    it (``marks``), and the host's answer once given (``pinned``: on viewers' screens)."""

    message_offset: str
    user_id: str
    name: str
    text: str
    asked_at_ms: int
    marks: int
    answer: str | None
    answered_at_ms: int | None
    pinned: bool


class QuestionList(Shape):
    """The room's questions, most asked first."""

    questions: list[QuestionView]


class PinnedQuestion(Shape):
    """The question pinned with its answer, or null."""

    question: QuestionView | None


class MarkResult(Shape):
    """A mark taken: ``new`` (the first), ``more``, or ``already`` (this viewer marked it
    before: counted once)."""

    message_offset: str
    outcome: str
    marks: int


async def _own_show(request: web.Request, right: Right = Right.MODERATE_CHAT) -> Show:
    """The show of the room in the path, when the caller's role in it gives ``right``."""
    return (await require_show_right(request, right)).show


async def _mark(app: web.Application, room_id: str, user_id: str, offset: str) -> dict[str, Any]:
    if await app[REDIS].sismember(RoomKeys(room_id).banned, user_id):
        raise Forbidden(ErrorCode.BANNED, "You have been removed from this room.")
    return await app[QUESTIONS].mark(room_id, offset, user_id)


@answers(
    Auth.VIEWER,
    {200: MarkResult},
    {
        400: (ErrorCode.INVALID_OFFSET,),
        403: (ErrorCode.BANNED,),
        404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_MESSAGE),
    },
)
@takes(MarkQuestion)
async def mark_question(request: web.Request, read: Reader[MarkQuestion]) -> web.Response:
    """Mark a chat message (yours or anyone's, by its offset) as a question for the host."""
    room_id = room_in_path(request)
    viewer = require_viewer(request)
    body = await read()
    return json_response(await _mark(request.app, room_id, viewer.user_id, body.message_offset))


async def mark_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
    """``question_mark`` on the room socket: the same as the HTTP mark."""
    user_id = call.signed_in()
    body = convert_message(message, QuestionMarkMessage)
    result = await _mark(call.app, call.room_id, user_id, body.message_offset)
    return {"type": "question_mark_result", **result}


@answers(Auth.ROOM_HOST, {200: QuestionList}, _SHOW)
async def list_questions(request: web.Request) -> web.Response:
    """The show's questions, most asked first (the console also hears ``question_marked``)."""
    show = await _own_show(request)
    return json_response({"questions": await request.app[QUESTIONS].of_room(show.room_id)})


@answers(
    Auth.ROOM_HOST,
    {200: QuestionView},
    {
        400: (ErrorCode.INVALID_OFFSET,),
        404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW, ErrorCode.UNKNOWN_QUESTION),
    },
)
@takes(AnswerQuestion)
async def answer_question(request: web.Request, read: Reader[AnswerQuestion]) -> web.Response:
    """Answer a question and pin it with its answer on every viewer's screen."""
    show = await _own_show(request)
    body = await read()
    offset = request.match_info["offset"]
    return json_response(await request.app[QUESTIONS].answer(show.room_id, offset, body.answer))


@answers(Auth.ROOM_HOST, {200: PinnedQuestion}, _SHOW)
@takes(Empty)
async def unpin_question(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Take the pinned question off viewers' screens (its answer stays in the list)."""
    show = await _own_show(request)
    await read()
    await request.app[QUESTIONS].unpin(show.room_id)
    return json_response({"question": None})


@answers(Auth.ANYONE, {200: PinnedQuestion}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def pinned_question(request: web.Request) -> web.Response:
    """The question the host pinned with its answer, for a page that just opened."""
    room_id = room_in_path(request)
    return json_response({"question": await request.app[QUESTIONS].pinned(room_id)})


def add_routes(app: web.Application) -> None:
    """The questions' routes and the ``question_mark`` socket message."""
    routes = Routes(app)
    routes.post("/api/rooms/{room_id}/questions", mark_question)
    routes.get("/api/rooms/{room_id}/questions/pinned", pinned_question)
    routes.get("/api/shows/{room_id}/questions", list_questions)
    routes.post("/api/shows/{room_id}/questions/pinned/clear", unpin_question)
    routes.post("/api/shows/{room_id}/questions/{offset}/answer", answer_question)
    add_socket_action(app, "question_mark", mark_by_socket)
