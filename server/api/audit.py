"""Every host action on a show, logged with who did it (the report's "audit" section).

The host checks of ``auth.py`` mark a request with the host and their role in the room;
after a marked change succeeds, :func:`audited` (around every host route) records it: the
action is the handler's name, the detail the path's ids and the request body. Features
whose routes do not go through those checks record their actions themselves with
:func:`audit`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson
from aiohttp import web
from redis.exceptions import RedisError

from ..appkeys import AUDIT_LOG
from ..shows.store import Show
from .decoding import raw_body

log = logging.getLogger(__name__)

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])

#: Request bodies longer than this are cut in the audit detail.
MAX_DETAIL_CHARS = 1000
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts in which room, with what role."""

    room_id: str
    host_id: str
    role: str


_ACTOR = web.RequestKey("audit_actor", Actor)


def mark(request: web.Request, room_id: str, host_id: str, role: str) -> None:
    """Log this request as an action of ``host_id`` in ``room_id`` if it changes something
    and succeeds."""
    request[_ACTOR] = Actor(room_id, host_id, role)


async def audit(
    app: web.Application,
    show: Show | str,
    host_id: str,
    action: str,
    detail: Any = None,
    role: str = "",
) -> None:
    """Record a host's action in a show (``show``: the show or its room id)."""
    room_id = show if isinstance(show, str) else show.room_id
    now_ms = int(time.time() * 1000)
    await app[AUDIT_LOG].record(room_id, host_id, role, action, detail, now_ms)


def audited(handler: H) -> H:
    """``handler``, with every successful change a host check marked in it logged.

    ``@answers`` puts this around every host route; other routes pay nothing for it (a
    middleware would be a layer on every request, the buy button's included)."""

    @functools.wraps(handler)
    async def handle(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        actor = request.get(_ACTOR)
        if actor is not None and request.method not in _SAFE and response.status < 400:
            try:
                await audit(
                    request.app,
                    actor.room_id,
                    actor.host_id,
                    _action(request),
                    await _detail(request),
                    actor.role,
                )
            except (RedisError, OSError) as exc:
                # The action is done: failing to log it must not report it as failed.
                log.warning("Could not log %s in room %s (%s)", request.path, actor.room_id, exc)
        return response

    return cast(H, handle)


def _action(request: web.Request) -> str:
    handler = request.match_info.handler
    return str(getattr(handler, "__name__", request.path))


async def _detail(request: web.Request) -> dict[str, Any]:
    detail: dict[str, Any] = dict(request.match_info)
    if request.can_read_body or request.body_exists:
        raw = await raw_body(request)
        if raw:
            text = raw.decode("utf-8", "replace")
            try:
                detail["body"] = (
                    orjson.loads(raw) if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS]
                )
            except orjson.JSONDecodeError:
                detail["body"] = text[:MAX_DETAIL_CHARS]
    return detail
