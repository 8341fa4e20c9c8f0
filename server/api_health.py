"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from .appkeys import REDIS
from .responses import json_response


async def healthz(request: web.Request) -> web.Response:
    """The process is up. Also the hello-world baseline of the benchmarks."""
    return web.Response(text="ok")


async def readyz(request: web.Request) -> web.Response:
    """Ready to take traffic: Redis answers."""
    try:
        await request.app[REDIS].ping()
    except (RedisError, OSError) as exc:
        return json_response(
            {"error": {"code": "not_ready", "message": f"Redis does not answer: {exc}"}},
            status=503,
        )
    return json_response({"status": "ready"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
