"""Every route answers alike (server/api/routing.py): errors as JSON with a stable code,
``nosniff``, counted; and every address no route takes reaches the catch-all last."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

from server.api.routing import UNMATCHED, is_answered
from server.app import create_app
from server.settings import Settings

from .helpers import VIEWER_SECRET

Client = TestClient[web.Request, web.Application]


def test_every_route_of_the_app_is_answered_and_the_catch_all_comes_last() -> None:
    """Guards against a route added with ``app.router.add_*`` directly: it would answer
    its errors as plain text, without nosniff, uncounted, and a route indexed under "/"
    would sit behind the catch-all."""
    app = create_app(Settings(viewer_token_secret=VIEWER_SECRET))
    routes = list(app.router.routes())
    unanswered = [f"{r.method} {r.resource}" for r in routes if not is_answered(r.handler)]
    assert unanswered == []
    resources = list(app.router.resources())
    assert [r.canonical for r in resources].count(UNMATCHED) == 1
    assert resources[-1].canonical == UNMATCHED


async def test_an_unknown_method_is_a_json_405_naming_the_methods_the_address_takes(
    client: Client,
) -> None:
    resp = await client.request("PUT", "/healthz")
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_any_other_address_is_a_json_404(client: Client) -> None:
    for path in ("/nope", "/api/nope/deeper/still", "/a%0Ab", "/static/../../etc/passwd"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert (await resp.json())["error"]["code"] == "not_found", path
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
