"""Who is calling: viewers by their signed token; hosts by session cookie or API token.

Hosts in a browser carry the session cookie and must echo their session's CSRF token in
``X-CSRF-Token`` on every change; automation sends ``Authorization: Bearer <API token>``
(no cookie, so no CSRF check is needed). Every host action on a room or offer also checks
that the host runs that room.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from stockkeeper.models import Offer

from ..appkeys import HOST_ACCOUNTS, KEEPER, ROOM_HUB, SESSIONS, SHOWS, VIEWER_TOKENS
from ..errors import ErrorCode, Forbidden, Unauthorized
from ..hosts.sessions import COOKIE_NAME, Session
from ..shows.store import ShowAccess
from ..shows.team import Right
from ..tokens import Viewer
from .audit import mark
from .paths import room_in_path

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class HostCaller:
    """Who is calling a host endpoint: the host, and their browser session if any."""

    host_id: str
    #: The browser session, or None for an API token.
    session: Session | None


_CALLER = web.RequestKey("host_caller", HostCaller)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_viewer(request: web.Request) -> Viewer:
    """The signed-in viewer of a request (``Authorization: Bearer <viewer token>``)."""
    token = _bearer(request)
    if token is None:
        raise Unauthorized(ErrorCode.TOKEN_REQUIRED, "Sign in to buy: send a viewer token.")
    return request.app[VIEWER_TOKENS].verify(token)


async def refuse_banned(app: web.Application, offer_id: str, user_id: str) -> None:
    """A viewer the host banned from an offer's room takes no unit of it (over HTTP, or a
    socket opened after the ban): 403 ``banned``. Known in memory after the first press on
    the offer (its room) and the room's ban list (server/room/bans.py)."""
    # On every press: what memory knows is asked without an await (each await of a
    # coroutine costs about as much as the look-up itself).
    buckets = app[KEEPER].buckets
    room_id = buckets.known_room(offer_id) or await buckets.room(offer_id)
    if room_id is None:
        return
    bans = app[ROOM_HUB].bans
    banned = bans.known(room_id, user_id)
    if banned is None:
        banned = await bans.is_banned(room_id, user_id)
    if banned:
        raise _banned()


async def refuse_banned_from_room(app: web.Application, room_id: str, user_id: str) -> None:
    """A viewer the host banned takes nothing more from the show (their socket is closed;
    this covers HTTP calls and a socket opened after the ban): 403 ``banned``."""
    if await app[ROOM_HUB].bans.is_banned(room_id, user_id):
        raise _banned()


def _banned() -> Forbidden:
    return Forbidden(ErrorCode.BANNED, "You have been removed from this room.")


async def require_host(request: web.Request) -> HostCaller:
    """The signed-in host; 401 without credentials, 403 for a change without CSRF token."""
    if _CALLER in request:
        return request[_CALLER]
    caller = await _authenticate(request)
    request[_CALLER] = caller
    return caller


async def _authenticate(request: web.Request) -> HostCaller:
    token = _bearer(request)
    if token is not None:
        host_id = await request.app[HOST_ACCOUNTS].host_for_api_token(token)
        if host_id is None:
            raise Unauthorized(
                ErrorCode.INVALID_HOST_TOKEN, "This API token is unknown or was revoked."
            )
        return HostCaller(host_id, None)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie is None:
        raise Unauthorized(
            ErrorCode.HOST_AUTH_REQUIRED, "Log in to the host console, or send a host API token."
        )
    session = await request.app[SESSIONS].lookup(cookie)
    if session is None:
        raise Unauthorized(
            ErrorCode.SESSION_EXPIRED, "Your session has ended; please log in again."
        )
    if request.method not in SAFE_METHODS and not hmac.compare_digest(
        request.headers.get(CSRF_HEADER, ""), session.csrf_token
    ):
        raise Forbidden(
            ErrorCode.CSRF_FAILED,
            "This change did not come from the host console; reload the page.",
        )
    return HostCaller(session.host_id, session)


async def require_room_host(
    request: web.Request, room_id: str, right: Right = Right.RUN_OFFERS
) -> HostCaller:
    """The signed-in host, who must run ``room_id`` (the first host to act on a room does)
    or be on its show's team with a role that gives ``right``; the action is audited."""
    caller = await require_host(request)
    role = await request.app[SHOWS].require_right(room_id, caller.host_id, right)
    mark(request, room_id, caller.host_id, role.value)
    return caller


async def require_offer_host(
    request: web.Request, offer_id: str, right: Right = Right.RUN_OFFERS
) -> Offer:
    """The offer, when the signed-in host runs its room or has ``right`` in its show."""
    caller = await require_host(request)
    offer = await request.app[KEEPER].get_offer(offer_id)
    role = await request.app[SHOWS].require_right(offer.room_id, caller.host_id, right)
    mark(request, offer.room_id, caller.host_id, role.value)
    return offer


async def require_show_right(request: web.Request, right: Right) -> ShowAccess:
    """The show of the room in the path and the caller's role in it, when the role gives
    ``right`` (403 ``not_your_room`` off the team, 403 ``role_forbids``); the action is
    audited. Every host route of a show goes through this (docs/hosts.md)."""
    caller = await require_host(request)
    access = await request.app[SHOWS].require_role(room_in_path(request), caller.host_id, right)
    mark(request, access.show.room_id, caller.host_id, access.role.value)
    return access
