"""What a feature adds to the room socket: a message type and the action that answers it.

The room socket (``room.py``) answers its own types (auth, chat, like, reserve...); a
feature's handler module (giveaways, coupons, polls, groups...) registers its own in its
``add_routes`` instead of editing ``room.py``, so handler modules stay peers:

    add_socket_action(app, "giveaway_enter", enter_by_socket)

    async def enter_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
        user_id = call.signed_in()
        entry = convert_message(message, GiveawayEnterMessage)
        ...
        return {"type": "giveaway_entered", ...}

An action raises the package errors (``LivesaleError``) like an HTTP handler does; the
socket turns them into an ``error`` event carrying the message's ``request_id``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..errors import ErrorCode, Unauthorized
from ..tokens import Viewer


@dataclass(slots=True)
class SocketCall:
    """One message on a viewer's socket: the app, the room and who sent it."""

    app: web.Application
    room_id: str
    viewer: Viewer | None

    def signed_in(self) -> str:
        """The sender's user id; ``token_required`` or ``token_expired`` otherwise."""
        if self.viewer is None:
            raise Unauthorized(ErrorCode.TOKEN_REQUIRED, "Sign in first: send an auth message.")
        if self.viewer.expires_at < time.time():
            raise Unauthorized(
                ErrorCode.TOKEN_EXPIRED, "The viewer token has expired; sign in again."
            )
        return self.viewer.user_id


SocketAction = Callable[[SocketCall, dict[str, Any]], Awaitable[dict[str, Any]]]

#: Message type -> action, for the types features add (filled by their ``add_routes``).
SOCKET_ACTIONS = web.AppKey("socket_actions", dict[str, SocketAction])


def add_socket_action(app: web.Application, message_type: str, action: SocketAction) -> None:
    """Answer viewers' ``message_type`` messages with ``action``."""
    actions = app.setdefault(SOCKET_ACTIONS, {})
    if message_type in actions:
        raise ValueError(f"Two features answer the socket message {message_type!r}")
    actions[message_type] = action


#: What a feature does with a chat message once it is posted (keyword entry to a giveaway,
#: a question...): it gets the sender's call and the text as posted, and returns fields to
#: add to the sender's ``chat_ack`` ({} for none). A listener handles its own errors.
ChatListener = Callable[[SocketCall, str], Awaitable[dict[str, Any]]]

CHAT_LISTENERS = web.AppKey("chat_listeners", list[ChatListener])


def add_chat_listener(app: web.Application, listener: ChatListener) -> None:
    """Call ``listener`` after every chat message posted in any room."""
    app.setdefault(CHAT_LISTENERS, []).append(listener)
