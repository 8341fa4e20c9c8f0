"""A bare aiohttp + uvloop app: the floor for a request shaped like a reservation, and
aiohttp's own hello world.

``livesale-bench reserve`` runs it in its own process and sends it exactly the requests of the
purchase storm (same headers, same body), answered with a constant. The gap between this
and the real endpoint is what the stock keeper, validation and auth cost.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop
from aiohttp import web

ANSWER = b'{"error":{"code":"sold_out","message":"Sold out.","available":0}}'


async def reservation_shaped(request: web.Request) -> web.Response:
    """Read the body, answer a constant: a reservation's shape, none of its work."""
    await request.read()
    return web.Response(body=ANSWER, status=409, content_type="application/json")


async def hello_world(request: web.Request) -> web.Response:
    """aiohttp's hello world."""
    return web.Response(text="ok")


def bare_app() -> web.Application:
    """No middleware, two routes: what aiohttp itself costs."""
    app = web.Application()
    app.router.add_post("/api/offers/{offer_id}/reservations", reservation_shaped)
    app.router.add_get("/healthz", hello_world)
    return app


def main() -> None:
    """Serve the bare app on the port given as the first argument."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(bare_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
