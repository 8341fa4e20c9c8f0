"""Serving the app over HTTP: aiohttp's runner, with unreadable requests answered like every
other error.

aiohttp answers a request it cannot parse (a malformed request line, a bad header, a line
too long) itself, before any route: as plain text, with the parser's traceback logged
as an error. Here it gets the app's JSON answer, 400 ``bad_request``, and one warning line.
aiohttp has no setting for this (aio-libs/aiohttp#3287), so its request handler's
``handle_error`` is overridden and the runner's server makes such handlers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from ..errors import ErrorCode
from .errors import ErrorAnswer
from .responses import NO_SNIFFING

log = logging.getLogger(__name__)

UNREADABLE_MESSAGE = "The request could not be read as HTTP."


class JsonErrorsRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering unreadable requests with the app's JSON."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request the parser refused: ``bad_request`` in JSON and one log line (no
        traceback); anything else as aiohttp answers it."""
        if status >= 500 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        # Scanners and TLS sent to the HTTP port fail at the method: routine on the
        # internet, so kept out of the warnings as aiohttp does.
        level = logging.DEBUG if isinstance(exc, BadHttpMethod) else logging.WARNING
        reason = " ".join(str(exc.message).split())[:200]
        log.log(level, "Unreadable HTTP request from %s: %s", request.remote, reason)
        if request.writer.output_size > 0:
            raise ConnectionError("An answer was already sent; the connection is closed.")
        response = ErrorAnswer(status, str(ErrorCode.BAD_REQUEST), UNREADABLE_MESSAGE).response()
        response.headers[NO_SNIFFING[0]] = NO_SNIFFING[1]
        # The parser cannot find the next request after a broken one.
        response.force_close()
        return response


class JsonErrorsServer(web.Server):
    """aiohttp's server, making :class:`JsonErrorsRequestHandler` connection handlers."""

    def __call__(self) -> RequestHandler:
        """A handler for a new connection."""
        return JsonErrorsRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorsAppRunner(web.AppRunner):
    """aiohttp's application runner, serving through :class:`JsonErrorsServer`."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()  # starts the app, with aiohttp's own settings
        return JsonErrorsServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **made._kwargs,
        )


async def serve(app: web.Application, host: str, port: int, **site: Any) -> None:
    """Serve ``app`` on ``host:port`` until cancelled, then shut it down as ``run_app``
    does (sockets closed, cleanup contexts run). ``site``: TCPSite options (reuse_port)."""
    # run_app's keep-alive (aiohttp's own handler default is an hour); no access log.
    runner = JsonErrorsAppRunner(app, access_log=None, keepalive_timeout=75.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, **site).start()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
