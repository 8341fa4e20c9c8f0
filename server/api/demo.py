"""Demo sign-in for the viewer page: a viewer token for a chosen nickname.

Only for trying the product out (on by default with the local stack of ``make run``): in
production an identity service mints viewer tokens (docs/tokens.md) and this is off.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from ..appkeys import SETTINGS
from ..errors import ErrorCode, NotFound
from ..tokens import mint_viewer_token
from .bodies import DemoViewer
from .described import Auth, Reader, Shape, answers, takes
from .responses import json_response
from .routing import Routes

DEMO_TOKEN_TTL_S = 12 * 3600


class DemoToken(Shape):
    """A viewer token for a new demo user."""

    token: str
    user_id: str
    display_name: str


@answers(Auth.ANYONE, {201: DemoToken}, {404: (ErrorCode.DEMO_DISABLED,)}, uses_redis=False)
@takes(DemoViewer)
async def viewer_token(request: web.Request, read: Reader[DemoViewer]) -> web.Response:
    """A viewer token for a new demo user, when demo sign-in is on."""
    settings = request.app[SETTINGS]
    if not settings.demo_viewer_tokens:
        raise NotFound(
            ErrorCode.DEMO_DISABLED, "Demo sign-in is off here; sign in through the shop's app."
        )
    body = await read()
    name = body.display_name.strip() or "viewer"
    user_id = f"demo-{secrets.token_hex(6)}"
    token = mint_viewer_token(settings.viewer_token_secret, user_id, name, DEMO_TOKEN_TTL_S)
    return json_response({"token": token, "user_id": user_id, "display_name": name}, status=201)


def add_routes(app: web.Application) -> None:
    """The demo sign-in route."""
    routes = Routes(app)
    routes.post("/api/demo/viewer-token", viewer_token)
