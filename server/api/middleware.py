"""The one middleware every request of the service passes: it answers every error as JSON
with a stable code (``errors.py``), marks every answer ``nosniff``, and counts and times
every answer for the metrics.

One layer rather than two: aiohttp charges each middleware a call and a coroutine per
request, and adds a layer of its own to an app that has any; on a hello world the second
middleware cost more than aiohttp's own routing (docs/benchmarks.md). Nothing here costs
more than a ``try`` when there is no error.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..metrics import CLIENT_CLOSED_REQUEST, Metrics, route_of
from .errors import error_response
from .responses import NO_SNIFFING


def answering_middleware(metrics: Metrics) -> Middleware:
    """A middleware answering errors as JSON and counting and timing every answer."""
    count = metrics.http.count
    clock = time.perf_counter
    nosniff_name, nosniff = NO_SNIFFING

    @web.middleware
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = clock()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                # A redirect: aiohttp sends it; it is counted, as every answer is.
                count(request.method, route_of(request), exc.status, clock() - started)
                raise
            response = error_response(request, exc)
        except asyncio.CancelledError:
            # With handler_cancellation on, a client that hangs up cancels its handler.
            count(request.method, route_of(request), CLIENT_CLOSED_REQUEST, None)
            raise
        except Exception as exc:
            response = error_response(request, exc)
        if response.prepared:
            # A room socket or event stream, answered when the viewer left, minutes after
            # it began (it sent its own headers): counted, kept out of the latencies.
            count(request.method, route_of(request), response.status, None)
        else:
            response.headers[nosniff_name] = nosniff
            count(request.method, route_of(request), response.status, clock() - started)
        return response

    return answer
