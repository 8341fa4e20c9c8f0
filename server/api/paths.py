"""Names taken from request paths."""

from __future__ import annotations

import re

from aiohttp import web

from ..errors import ErrorCode, NotFound
from .bodies import SLUG_PATTERN

_ROOM = re.compile(SLUG_PATTERN)


def room_in_path(request: web.Request) -> str:
    """The ``{room_id}`` of the path; a name no room can have is 404 ``unknown_room``."""
    room = request.match_info["room_id"]
    if not _ROOM.fullmatch(room):
        raise NotFound(ErrorCode.UNKNOWN_ROOM, "There is no such room.")
    return room
