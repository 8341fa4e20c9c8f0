"""Viewers' live connection to a room: WebSocket, or Server-Sent Events as a fallback.

Protocol (docs/rooms.md): the server sends frames ``{"events": [...]}``; a viewer sends one
JSON object per message with a ``type``: auth, ping, chat, like, reserve, confirm, cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType, web

from stockkeeper.errors import StockKeeperError

from ..appkeys import CHECKOUT, KEEPER, METRICS, ROOM_HUB, ROOM_PUBLISHER, SETTINGS, VIEWER_TOKENS
from ..errors import ErrorCode, Forbidden, Invalid, LivesaleError
from ..plain_text import without_bidi_controls
from ..room.connection import BANNED_REASON, CLOSE_BANNED, Connection, SseConnection, WsConnection
from ..room.inbox import INTERNAL_ERROR, Inbox
from ..room.presence import tell_signed_in
from ..tokens import Viewer
from .answers import confirm_answer, reserve_answer
from .auth import refuse_banned, refuse_banned_from_room
from .bodies import AuthMessage, CancelMessage, ChatMessage, ConfirmMessage, ReserveMessage
from .decoding import convert_message
from .described import Auth, Content, answers
from .errors import answer_for
from .paths import room_in_path
from .routing import Routes
from .socket_actions import CHAT_LISTENERS, SOCKET_ACTIONS, SocketCall
from .views import offer_view

log = logging.getLogger(__name__)

HISTORY_FRAME = 200
#: Unanswered messages a socket may have before the server stops reading it.
MESSAGES_IN_FLIGHT = 16


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_origin(request: web.Request) -> None:
    """Browsers send Origin: only the server's own pages and configured sites may connect."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    allowed = request.app[SETTINGS].room.allowed_origins
    if urlsplit(origin).netloc != request.host and origin not in allowed:
        raise Forbidden(ErrorCode.ORIGIN_NOT_ALLOWED, "Pages from this site may not join rooms.")


def _viewer(request: web.Request) -> Viewer | None:
    """The viewer named by the ``token`` query parameter; anonymous without one."""
    token = request.query.get("token")
    return request.app[VIEWER_TOKENS].verify(token) if token else None


async def _snapshot(request: web.Request, room_id: str) -> dict[str, Any]:
    """Everything a viewer needs to draw the room now."""
    publisher = request.app[ROOM_PUBLISHER]
    latest = await publisher.latest_offset(room_id)
    offers = await request.app[KEEPER].room_offers(room_id)
    state = await publisher.state(room_id)
    return {
        "type": "snapshot",
        "offset": latest,
        "at_ms": _now_ms(),
        "offers": [offer_view(o) for o in offers],
        "pinned_message": state.get("pinned_message") or None,
        "pinned_offer_id": state.get("pinned_offer_id") or None,
        "slow_mode_s": int(state.get("slow_mode_s") or 0),
    }


async def _start(request: web.Request, conn: Connection, since: str | None) -> None:
    """Hello, then what the viewer missed (or a snapshot), then live events."""
    settings = request.app[SETTINGS].room
    conn.send(
        [
            {
                "type": "hello",
                "room_id": conn.room_id,
                "user_id": conn.user_id,
                # Which server process answered: for operators following a viewer's report.
                "server": request.app[ROOM_HUB].process_id,
                "server_time_ms": _now_ms(),
                "limits": {
                    "chat_max_chars": settings.chat_max_chars,
                    "max_message_bytes": settings.max_message_bytes,
                },
            }
        ]
    )
    if since:
        history = await request.app[ROOM_PUBLISHER].history_after(conn.room_id, since)
        if history.events is not None:
            views = [e.view() for e in history.events if e.to_user in ("", conn.user_id)]
            for i in range(0, len(views), HISTORY_FRAME):
                conn.send(views[i : i + HISTORY_FRAME])
            conn.caught_up(history.events[-1].offset if history.events else since)
            return
    snapshot = await _snapshot(request, conn.room_id)
    conn.send([snapshot])
    conn.caught_up(snapshot["offset"])


@contextlib.asynccontextmanager
async def _in_room(
    request: web.Request, conn: Connection, since: str | None
) -> AsyncIterator[None]:
    """The viewer is in the room, caught up, with its writer running, for the block."""
    hub = request.app[ROOM_HUB]
    writer = asyncio.create_task(conn.run_writer())
    await hub.join(conn)
    try:
        await _start(request, conn, since)
        yield
    finally:
        await hub.leave(conn)
        conn.closed = True
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer


_TOKEN = ({"type": "string"}, "A viewer token; without one the viewer watches anonymously.")
_SINCE = ({"type": "string"}, "Resume after this event offset (docs/rooms.md).")
_JOIN_ERRORS = {
    401: (ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED),
    404: (ErrorCode.UNKNOWN_ROOM,),
}


@answers(
    Auth.ANYONE,
    {101: None},
    {
        **_JOIN_ERRORS,
        400: (ErrorCode.HTTP_ERROR,),
        403: (ErrorCode.ORIGIN_NOT_ALLOWED,),
    },
    query={
        "token": _TOKEN,
        "since": _SINCE,
        "console": ({"type": "string", "enum": ["1"]}, "1: the host console (not counted)."),
    },
    streaming=True,
)
async def room_socket(request: web.Request) -> web.StreamResponse:
    """A viewer's WebSocket: the room's events out, the viewer's messages in."""
    room_id = room_in_path(request)
    _check_origin(request)
    viewer = _viewer(request)
    # Asked before the upgrade, so that Redis out of reach is a 503 like any other; told
    # after it, as a close code a browser can read (it never sees a refused upgrade's
    # status, and would reconnect for ever). Read afresh while this process has no viewer
    # of the room: it then hears none of its bans, and what it read may be 2 s old.
    hub = request.app[ROOM_HUB]
    banned = viewer is not None and await hub.bans.is_banned(
        room_id, viewer.user_id, fresh=hub.viewers(room_id) == 0
    )
    settings = request.app[SETTINGS].room
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_s,
        # aiohttp refuses a message of max_msg_size bytes or more; the limit we announce is
        # the largest message accepted.
        max_msg_size=settings.max_message_bytes + 1,
        # Broadcast frames are encoded once and shared; per-socket compression would undo it.
        compress=False,
    )
    await ws.prepare(request)
    if banned:
        await ws.close(code=CLOSE_BANNED, message=BANNED_REASON.encode())
        return ws
    conn = WsConnection(ws, request.transport, room_id, viewer, settings)
    conn.counted = request.query.get("console") != "1"
    async with _in_room(request, conn, request.query.get("since")):
        handler = SocketMessages(request, conn)
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await handler.take(message.data)
        finally:
            await handler.drain()
    return ws


@answers(
    Auth.ANYONE,
    {200: Content("text/event-stream")},
    {**_JOIN_ERRORS, 403: (ErrorCode.BANNED,)},
    query={"token": _TOKEN, "since": _SINCE},
    streaming=True,
)
async def room_events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: read-only, resumes with the Last-Event-ID header."""
    room_id = room_in_path(request)
    viewer = _viewer(request)
    if viewer is not None:
        await refuse_banned_from_room(request.app, room_id, viewer.user_id)
    settings = request.app[SETTINGS].room
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    conn = SseConnection(response, room_id, viewer, settings)
    since = request.headers.get("Last-Event-ID") or request.query.get("since")
    async with _in_room(request, conn, since):
        await conn.done.wait()
    return response


def _parse(data: str | bytes) -> dict[str, Any] | Invalid:
    """A viewer's message, or what is wrong with it."""
    if isinstance(data, bytes):
        return Invalid(ErrorCode.BINARY_NOT_SUPPORTED, "Send JSON text messages.")
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return Invalid(ErrorCode.INVALID_JSON, "Messages must be JSON objects.")
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return Invalid(ErrorCode.INVALID_MESSAGE, 'Messages need a "type".')
    return message


class SocketMessages:
    """What a viewer may say over the socket. Presses run alongside each other, everything
    else one at a time, answers in order (server/room/inbox.py)."""

    def __init__(self, request: web.Request, conn: WsConnection) -> None:
        self.request = request
        self.app = request.app
        self.conn = conn
        self.settings = request.app[SETTINGS].room
        # Made at the first message: most viewers only watch, and 10,000 of them add up.
        self._inbox: Inbox | None = None
        self._likes_second = 0
        self._likes_in_second = 0

    async def take(self, data: str | bytes) -> None:
        """Start on a message; waits only while the viewer has many unanswered."""
        message = _parse(data)
        alongside = isinstance(message, dict) and message["type"] == "reserve"
        if self._inbox is None:
            self._inbox = Inbox(self.handle, self.conn.send, MESSAGES_IN_FLIGHT)
        await self._inbox.put(message, alongside)

    async def drain(self) -> None:
        """Wait for the answers of every message taken."""
        if self._inbox is not None:
            await self._inbox.drain()

    async def handle(self, message: dict[str, Any] | Invalid) -> dict[str, Any]:
        """The answer to a message ({} when it needs none)."""
        request_id: Any = None
        kind: Any = None
        try:
            if isinstance(message, Invalid):
                raise message
            request_id = message.pop("request_id", None)
            kind = message.pop("type")
            handler = _HANDLERS.get(kind)
            if handler is not None:
                answer = await handler(self, message)
            else:
                added = self.app.get(SOCKET_ACTIONS, {})
                action = added.get(kind)
                if action is None:
                    known = ", ".join(sorted([*_HANDLERS, *added]))
                    raise Invalid(ErrorCode.UNKNOWN_TYPE, f"Known types: {known}.")
                call = SocketCall(self.app, self.conn.room_id, self.conn.viewer)
                answer = await action(call, message)
        except (LivesaleError, StockKeeperError) as exc:
            answer = answer_for(exc).event()
        except Exception:
            # A bug must not cost the viewer its socket: say so, with the request id.
            log.exception("A viewer's %s message in room %s failed", kind, self.conn.room_id)
            answer = dict(INTERNAL_ERROR)
        if answer and request_id is not None:
            answer["request_id"] = request_id
        return answer

    def _signed_in(self) -> str:
        return SocketCall(self.app, self.conn.room_id, self.conn.viewer).signed_in()

    async def _auth(self, message: dict[str, Any]) -> dict[str, Any]:
        auth = convert_message(message, AuthMessage)
        before = self.conn.user_id
        viewer = self.app[VIEWER_TOKENS].verify(auth.token)
        # A banned viewer's account stays out of the room (the socket watches on, signed out).
        await refuse_banned_from_room(self.app, self.conn.room_id, viewer.user_id)
        self.conn.viewer = viewer
        await tell_signed_in(self.app[ROOM_HUB].presence, self.conn, before)
        return {"type": "auth_ok", "user_id": self.conn.viewer.user_id}

    async def _ping(self, message: dict[str, Any]) -> dict[str, Any]:
        return {"type": "pong", "server_time_ms": _now_ms()}

    async def _chat(self, message: dict[str, Any]) -> dict[str, Any]:
        user_id = self._signed_in()
        # Without bidirectional controls before any rule: a U+202E inside a blocked word
        # must not slip it past the filter.
        text = without_bidi_controls(convert_message(message, ChatMessage).text).strip()
        if not text or len(text) > self.settings.chat_max_chars:
            raise Invalid(
                ErrorCode.INVALID_CHAT,
                f"Messages are 1 to {self.settings.chat_max_chars} characters.",
            )
        lowered = text.casefold()
        if any(
            word in lowered for word in await self.app[ROOM_HUB].blocked_words(self.conn.room_id)
        ):
            raise Invalid(ErrorCode.BLOCKED_WORD, "This message contains a word the host blocked.")
        name = self.conn.viewer.name if self.conn.viewer else user_id
        offset = await self.app[ROOM_PUBLISHER].chat(self.conn.room_id, user_id, name, text)
        ack = {"type": "chat_ack", "offset": offset}
        for listener in self.app.get(CHAT_LISTENERS, []):
            ack.update(
                await listener(SocketCall(self.app, self.conn.room_id, self.conn.viewer), text)
            )
        return ack

    async def _like(self, message: dict[str, Any]) -> dict[str, Any]:
        self._signed_in()
        second = int(time.monotonic())
        if second != self._likes_second:
            self._likes_second, self._likes_in_second = second, 0
        self._likes_in_second += 1
        # Likes past the per-second cap are dropped quietly: they only feed a counter.
        if self._likes_in_second <= self.settings.likes_per_second:
            self.app[ROOM_HUB].like(self.conn.room_id)
        return {}

    async def _reserve(self, message: dict[str, Any]) -> dict[str, Any]:
        user_id = self._signed_in()
        press = convert_message(message, ReserveMessage)
        await refuse_banned(self.app, press.offer_id, user_id)
        result = await self.app[KEEPER].reserve(
            press.offer_id, user_id, press.quantity, press.idempotency_key
        )
        self.app[METRICS].reservation(result.outcome, "socket")
        status, body = reserve_answer(press.offer_id, result)
        return {"type": "reserve_result", "status": status, **body}

    async def _confirm(self, message: dict[str, Any]) -> dict[str, Any]:
        user_id = self._signed_in()
        payment = convert_message(message, ConfirmMessage)
        result = await self.app[CHECKOUT].confirm(
            payment.hold_id, user_id, payment.payment_ref, payment.coupon_id, payment.use_credit
        )
        status, body = confirm_answer(result)
        return {"type": "confirm_result", "status": status, **body}

    async def _cancel(self, message: dict[str, Any]) -> dict[str, Any]:
        user_id = self._signed_in()
        cancel = convert_message(message, CancelMessage)
        result = await self.app[KEEPER].cancel(cancel.hold_id, user_id)
        return {
            "type": "cancel_result",
            "status": 200,
            "outcome": result.outcome,
            "available": result.available,
        }


_HANDLERS: dict[str, Callable[[SocketMessages, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "auth": SocketMessages._auth,
    "ping": SocketMessages._ping,
    "chat": SocketMessages._chat,
    "like": SocketMessages._like,
    "reserve": SocketMessages._reserve,
    "confirm": SocketMessages._confirm,
    "cancel": SocketMessages._cancel,
}


def add_routes(app: web.Application) -> None:
    """The viewer's routes into a room."""
    routes = Routes(app)
    routes.get("/rooms/{room_id}/live", room_socket)
    routes.get("/rooms/{room_id}/events", room_events)
