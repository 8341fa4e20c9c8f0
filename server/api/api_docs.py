"""The API's own description: OpenAPI 3.1, generated from the routes (docs/api.md)."""

from __future__ import annotations

import orjson
from aiohttp import web

from .described import Auth, Content, answers
from .openapi import ADDRESS, describe_app
from .routing import Routes


class _Description:
    """The description, made once: the routes are fixed once the app runs."""

    def __init__(self) -> None:
        self.encoded: bytes | None = None

    @answers(
        Auth.ANYONE,
        {200: Content("application/json", {"type": "object"})},
        uses_redis=False,
    )
    async def openapi_description(self, request: web.Request) -> web.Response:
        """The OpenAPI 3.1 description of this API, for people and for tools."""
        if self.encoded is None:
            self.encoded = orjson.dumps(describe_app(request.app), option=orjson.OPT_INDENT_2)
        return web.Response(
            body=self.encoded,
            content_type="application/json",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
        )


def add_routes(app: web.Application) -> None:
    """The description's route."""
    routes = Routes(app)
    routes.get(ADDRESS, _Description().openapi_description)
