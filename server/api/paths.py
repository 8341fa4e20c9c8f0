"""Names taken from request paths."""

from __future__ import annotations

from aiohttp import web

from ..errors import ErrorCode, NotFound
from .validation import SLUG


def room_in_path(request: web.Request) -> str:
    """The ``{room_id}`` of the path; a name no room can have is 404 ``unknown_room``."""
    room = request.match_info["room_id"]
    if not SLUG.match(room):
        raise NotFound(ErrorCode.UNKNOWN_ROOM, "There is no such room.")
    return room
