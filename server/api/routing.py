"""Every route of the service answered alike, without a middleware: errors as JSON with a
stable code (``errors.py``), every answer marked ``nosniff``, counted and timed for the
metrics.

Each route's handler is wrapped once, when it is added (``Routes``), with its method and
route template already known: nothing is looked up per request. A middleware did the same
work, but aiohttp charges any app with a middleware a layer of its own per request (the
chain is looked up in a cache, and a wrapper sets the request's current app), and on a
hello world that layer and ours cost 15% of aiohttp's whole handling (docs/benchmarks.md).

Addresses no route takes reach ``unmatched``, the last route, so that a 404 or a 405 is
answered as JSON and counted too. (Only a request for ``*``, ``OPTIONS *``, which names no
path, is left to aiohttp's own 404.)
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from ..appkeys import METRICS
from ..metrics import CLIENT_CLOSED_REQUEST, RouteFigures
from .errors import error_response
from .responses import NO_SNIFFING

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The last route, which takes every address the others do not (``UNMATCHED`` is how
#: aiohttp names its template, e.g. in ``resource.canonical``).
UNMATCHED_PATTERN = "/{unmatched_path:(?s:.*)}"  # (?s): a path may hold a decoded newline
UNMATCHED = "/{unmatched_path}"
#: Marks a handler made by ``answered``.
ANSWERED = "__livesale_answered__"
#: How metrics name a method aiohttp does not know.
OTHER_METHOD = "OTHER"
#: The route name metrics give answers of addresses no route takes.
UNMATCHED_LABEL = "unmatched"


def answered(handler: Handler, figures: RouteFigures) -> Handler:
    """``handler``, answering its errors as JSON and counting and timing every answer."""
    clock = time.perf_counter
    count = figures.count
    nosniff_name, nosniff = NO_SNIFFING

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        started = clock()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                # A redirect: aiohttp sends it; it is counted, as every answer is.
                count(exc.status, clock() - started)
                raise
            response = error_response(request, exc)
        except asyncio.CancelledError:
            # With handler_cancellation on, a client that hangs up cancels its handler.
            count(CLIENT_CLOSED_REQUEST, None)
            raise
        except Exception as exc:
            response = error_response(request, exc)
        if response.prepared:
            # A room socket or event stream, answered when the viewer left, minutes after
            # it began (it sent its own headers): counted, kept out of the latencies.
            count(response.status, None)
        else:
            response.headers[nosniff_name] = nosniff
            count(response.status, clock() - started)
        return response

    setattr(answer, ANSWERED, True)
    return answer


def is_answered(handler: object) -> bool:
    """Whether ``handler`` was made by ``answered`` (tests check every route is)."""
    return getattr(handler, ANSWERED, False) is True


class Routes:
    """Adds an app's routes, each answered alike (``answered``)."""

    def __init__(self, app: web.Application) -> None:
        self._router = app.router
        self._figures = app[METRICS].http

    def get(self, path: str, handler: Handler) -> None:
        """A GET route (and HEAD, as aiohttp adds it)."""
        self._add(path, handler, "GET", "HEAD")

    def post(self, path: str, handler: Handler) -> None:
        """A POST route."""
        self._add(path, handler, "POST")

    def put(self, path: str, handler: Handler) -> None:
        """A PUT route."""
        self._add(path, handler, "PUT")

    def patch(self, path: str, handler: Handler) -> None:
        """A PATCH route."""
        self._add(path, handler, "PATCH")

    def delete(self, path: str, handler: Handler) -> None:
        """A DELETE route."""
        self._add(path, handler, "DELETE")

    def unmatched(self) -> None:
        """The last route: every address the others do not take, answered 404 or 405 (and
        counted under its method, as route "unmatched")."""
        # One series per method HTTP defines and one for any other: aiohttp's pure-Python
        # parser (AIOHTTP_NO_EXTENSIONS) takes any token as a method.
        answers = {
            method: answered(unmatched, self._figures.route(method, UNMATCHED_LABEL))
            for method in (*sorted(hdrs.METH_ALL), OTHER_METHOD)
        }

        async def answer(request: web.Request) -> web.StreamResponse:
            return await answers.get(request.method, answers[OTHER_METHOD])(request)

        wrapper = functools.wraps(unmatched)(answer)
        setattr(wrapper, ANSWERED, True)
        self._router.add_resource(UNMATCHED_PATTERN).add_route("*", wrapper)

    def _add(self, path: str, handler: Handler, *methods: str) -> None:
        resource = self._router.add_resource(path)
        for method in methods:
            figures = self._figures.route(method, resource.canonical)
            resource.add_route(method, answered(handler, figures))


async def unmatched(request: web.Request) -> web.StreamResponse:
    """No route takes this address, or none takes it with this method (405, naming the
    methods that do)."""
    allowed: set[str] = set()
    itself = request.match_info.route.resource
    for resource in request.app.router.resources():
        if resource is itself:
            continue
        _, methods = await resource.resolve(request)
        allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()
