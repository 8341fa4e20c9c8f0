"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from ..appkeys import METRICS, REDIS
from ..errors import ErrorCode
from .described import Auth, Content, Shape, answers
from .errors import error_body
from .responses import json_response

_TEXT = {200: Content("text/plain")}


class Ready(Shape):
    """Ready to take traffic."""

    status: Literal["ready"]


@answers(Auth.ANYONE, _TEXT, uses_redis=False)
async def healthz(request: web.Request) -> web.Response:
    """The process is up. Also the hello-world baseline of the benchmarks."""
    return web.Response(text="ok")


@answers(Auth.ANYONE, {200: Ready}, {503: (ErrorCode.NOT_READY,)}, uses_redis=False)
async def readyz(request: web.Request) -> web.Response:
    """Ready to take traffic: Redis answers."""
    try:
        await request.app[REDIS].ping()
    except (RedisError, OSError) as exc:
        return json_response(
            error_body(ErrorCode.NOT_READY, f"Redis does not answer: {exc}"),
            status=503,
        )
    return json_response({"status": "ready"})


@answers(Auth.ANYONE, _TEXT, uses_redis=False)
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format (docs/operations.md lists every metric)."""
    return web.Response(
        body=generate_latest(request.app[METRICS].registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


def add_routes(app: web.Application) -> None:
    """The health and metrics routes."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
