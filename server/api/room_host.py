"""Host endpoints that run a room: announcements, pins, and chat moderation."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import LINEUP, ROOM_HUB, ROOM_PUBLISHER
from ..errors import ErrorCode, Invalid
from ..room.publisher import OFFSET
from ..shows.team import Right
from .auth import require_room_host
from .bodies import Announcement, Ban, BlockedWords, Empty, Mute, PinOffer, SlowMode
from .described import Auth, Reader, Shape, answers, takes
from .paths import room_in_path
from .responses import json_response
from .routing import Routes

_ROOM = {404: (ErrorCode.UNKNOWN_ROOM,)}


class Published(Shape):
    """The offset of the room event the change became (viewers resume after it)."""

    offset: str


class BlockedWordList(Shape):
    """The room's blocked words as they are kept: trimmed, folded, sorted."""

    words: list[str]


@answers(Auth.ROOM_HOST, {201: Published}, _ROOM)
@takes(Announcement)
async def announce(request: web.Request, read: Reader[Announcement]) -> web.Response:
    """Post an announcement; ``pinned`` keeps it on every viewer's screen."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.MODERATE_CHAT)
    body = await read()
    publisher = request.app[ROOM_PUBLISHER]
    if body.pinned:
        offset = await publisher.set_state(room_id, "pinned_message", pinned_message=body.text)
    else:
        offset = await publisher.publish(room_id, "announcement", {"text": body.text})
    return json_response({"offset": offset}, status=201)


@answers(Auth.ROOM_HOST, {200: Published}, _ROOM)
@takes(Empty)
async def unpin_message(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Take the pinned message off every viewer's screen."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.MODERATE_CHAT)
    await read()
    offset = await request.app[ROOM_PUBLISHER].set_state(
        room_id, "pinned_message", pinned_message=""
    )
    return json_response({"offset": offset})


@answers(
    Auth.ROOM_HOST,
    {200: Published},
    {400: (ErrorCode.OFFER_NOT_IN_ROOM,), 404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_OFFER)},
)
@takes(PinOffer)
async def pin_offer(request: web.Request, read: Reader[PinOffer]) -> web.Response:
    """Show one of the room's offers at the top of every viewer's screen."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.RUN_OFFERS)
    body = await read()
    offset = await request.app[LINEUP].pin(room_id, body.offer_id)
    return json_response({"offset": offset})


@answers(Auth.ROOM_HOST, {200: Published}, {**_ROOM, 400: (ErrorCode.INVALID_OFFSET,)})
@takes(Empty)
async def delete_message(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Remove a chat message from every viewer's screen (by its offset)."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.MODERATE_CHAT)
    await read()
    message_offset = request.match_info["offset"]
    if not OFFSET.match(message_offset):
        raise Invalid(ErrorCode.INVALID_OFFSET, "Messages are named by their offset, e.g. 1700-0.")
    offset = await request.app[ROOM_PUBLISHER].publish(
        room_id, "chat_deleted", {"message_offset": message_offset}
    )
    return json_response({"offset": offset})


@answers(Auth.ROOM_HOST, {200: Published}, _ROOM)
@takes(Mute)
async def mute(request: web.Request, read: Reader[Mute]) -> web.Response:
    """Stop (or let again) a viewer posting in the room's chat."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.MODERATE_CHAT)
    body = await read()
    offset = await request.app[ROOM_PUBLISHER].mute(room_id, body.user_id, body.muted)
    return json_response({"offset": offset})


@answers(Auth.ROOM_HOST, {200: Published}, _ROOM)
@takes(Ban)
async def ban(request: web.Request, read: Reader[Ban]) -> web.Response:
    """Remove a viewer from the room's chat and close their connections."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.MODERATE_CHAT)
    body = await read()
    offset = await request.app[ROOM_PUBLISHER].ban(room_id, body.user_id)
    # At once here; other processes learn it from the room's channel or within seconds.
    request.app[ROOM_HUB].bans.banned(room_id, body.user_id)
    return json_response({"offset": offset})


@answers(Auth.ROOM_HOST, {200: Published}, _ROOM)
@takes(SlowMode)
async def slow_mode(request: web.Request, read: Reader[SlowMode]) -> web.Response:
    """Each viewer may post once per ``seconds`` (0 turns slow mode off)."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.MODERATE_CHAT)
    body = await read()
    offset = await request.app[ROOM_PUBLISHER].set_state(
        room_id, "slow_mode", slow_mode_s=body.seconds
    )
    return json_response({"offset": offset})


@answers(Auth.ROOM_HOST, {200: BlockedWordList}, _ROOM)
@takes(BlockedWords)
async def blocked_words(request: web.Request, read: Reader[BlockedWords]) -> web.Response:
    """Replace the room's blocked words (case-insensitive, matched anywhere in a message)."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id, Right.MODERATE_CHAT)
    body = await read()
    cleaned = sorted({word.strip().casefold() for word in body.words})
    await request.app[ROOM_PUBLISHER].set_blocked_words(room_id, cleaned)
    return json_response({"words": cleaned})


def add_routes(app: web.Application) -> None:
    """The routes of a room's host."""
    routes = Routes(app)
    routes.post("/api/rooms/{room_id}/announcements", announce)
    routes.post("/api/rooms/{room_id}/pinned-message/clear", unpin_message)
    routes.post("/api/rooms/{room_id}/pinned-offer", pin_offer)
    routes.post("/api/rooms/{room_id}/messages/{offset}/delete", delete_message)
    routes.post("/api/rooms/{room_id}/mutes", mute)
    routes.post("/api/rooms/{room_id}/bans", ban)
    routes.post("/api/rooms/{room_id}/slow-mode", slow_mode)
    routes.put("/api/rooms/{room_id}/blocked-words", blocked_words)
