"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from ..appkeys import METRICS, REDIS
from ..errors import ErrorCode
from .errors import error_body
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
            error_body(ErrorCode.NOT_READY, f"Redis does not answer: {exc}"),
            status=503,
        )
    return json_response({"status": "ready"})


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
