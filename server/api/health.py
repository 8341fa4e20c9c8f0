"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus.

Metrics are served on an address of their own (LIVESALE_METRICS_HOST/PORT), as Prometheus
exporters are, never on the service's port: they name routes and volumes, which is nobody
else's business, and a firewall or a pod's ports can then keep them in.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from ..appkeys import METRICS, REDIS, SETTINGS
from ..errors import ErrorCode
from .described import Auth, Content, Shape, answers
from .errors import error_body, error_middleware
from .responses import json_response
from .routing import Routes

log = logging.getLogger(__name__)

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
    """The health routes (metrics have their own address: :func:`metrics_listener`)."""
    routes = Routes(app)
    routes.get("/healthz", healthz)
    routes.get("/readyz", readyz)


async def metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context serving ``GET /metrics`` of ``app`` on the metrics address."""
    settings = app[SETTINGS]
    assert settings.metrics_port is not None  # wired only when one is set
    metrics_app = web.Application(middlewares=[error_middleware])
    metrics_app[METRICS] = app[METRICS]
    metrics_app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(metrics_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
        log.info("Metrics at http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
        yield
    finally:
        await runner.cleanup()
