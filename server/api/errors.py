"""Every error becomes an answer with a stable code here, and only here.

The server's own errors (server/errors.py), the stock keeper's and aiohttp's HTTP errors
all become ``{"error": {"code", "message", ...details}}`` with an HTTP status, or, on a room
socket, an ``error`` event with the same code, message and details.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from stockkeeper.errors import (
    HoldAlreadyConfirmed,
    InsufficientStock,
    InvalidState,
    InvalidWindow,
    StockKeeperError,
    StockUnavailable,
    UnknownHold,
    UnknownOffer,
)

from ..errors import (
    INTERNAL_ERROR_MESSAGE,
    Conflict,
    ErrorCode,
    Forbidden,
    Invalid,
    LivesaleError,
    NotFound,
    RateLimited,
    Unauthorized,
)
from ..metrics import CLIENT_CLOSED_REQUEST
from .responses import NO_SNIFFING, json_response

log = logging.getLogger(__name__)

#: The HTTP status of each kind of the server's errors (most specific class first).
_STATUSES: tuple[tuple[type[LivesaleError], int], ...] = (
    (Invalid, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
)

_HTTP_CODES = {
    404: (ErrorCode.NOT_FOUND, "There is nothing at this address."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "This address does not take that method."),
    413: (ErrorCode.BODY_TOO_LARGE, "The request body is too large."),
}


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """What a client is told of an error: the same over HTTP and a room socket."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body of an HTTP answer."""
        return error_body(self.code, self.message, **self.details)

    def event(self) -> dict[str, Any]:
        """The ``error`` event of a room socket."""
        return {"type": "error", "code": self.code, "message": self.message, **self.details}

    def response(self) -> web.Response:
        """The HTTP answer; a 503 says when to retry."""
        headers = {"Retry-After": "1"} if self.status == 503 else None
        return json_response(self.body(), status=self.status, headers=headers)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """``{"error": {"code", "message", ...details}}``."""
    return {"error": {"code": str(code), "message": message, **details}}


def status_of(exc: LivesaleError) -> int:
    """The HTTP status of one of the server's errors."""
    for kind, status in _STATUSES:
        if isinstance(exc, kind):
            return status
    return 500


def answer_for(exc: LivesaleError | StockKeeperError) -> ErrorAnswer:
    """The answer to an error of the server or of the stock keeper (HTTP and socket alike)."""
    if isinstance(exc, LivesaleError):
        details = {**exc.details, "retriable": True} if exc.retriable else exc.details
        return ErrorAnswer(status_of(exc), str(exc.code), exc.message, details)
    return _stock_answer(exc)


def _stock_answer(exc: StockKeeperError) -> ErrorAnswer:
    details: dict[str, object] = {}
    match exc:
        case StockUnavailable():
            return ErrorAnswer(
                503,
                exc.code,
                "The stock service cannot be reached right now. Your request may not have "
                "been applied: retrying it with the same idempotency key is safe.",
                {"retriable": exc.retriable},
            )
        case UnknownOffer() | UnknownHold():
            status = 404
        case HoldAlreadyConfirmed():
            status, details = 409, {"order_id": exc.order_id}
        case InvalidState():
            status, details = 409, {"state": exc.state}
        case InvalidWindow():
            status, details = 422, {"opens_at_ms": exc.opens_at, "closes_at_ms": exc.closes_at}
        case InsufficientStock():
            status, details = 409, {"available": exc.available}
        case _:
            log.error("Stock keeper error: %s", exc)
            return ErrorAnswer(500, exc.code, "The stock service failed; we are looking into it.")
    return ErrorAnswer(status, exc.code, str(exc), details)


def _http_answer(exc: web.HTTPException) -> ErrorAnswer:
    code, message = _HTTP_CODES.get(exc.status, (ErrorCode.HTTP_ERROR, exc.reason))
    return ErrorAnswer(exc.status, str(code), message)


def error_response(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The answer to a request whose handler raised ``exc`` (an HTTP error of 400 or more,
    or any other exception): JSON with a stable code, the cause logged when it is ours."""
    if isinstance(exc, LivesaleError | StockKeeperError):
        return answer_for(exc).response()
    if isinstance(exc, web.HTTPException):
        response = _http_answer(exc).response()
        if "Allow" in exc.headers:  # a 405 names the methods the address takes (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | BusyLoadingError):
        # Redis out of reach outside the stock keeper (sign-in, sessions, shows): the same
        # 503 as a purchase would get, not a 500 with a traceback.
        log.warning("Redis unreachable in %s %s: %s", request.method, request.path, exc)
        return answer_for(StockUnavailable(str(exc))).response()
    if isinstance(exc, ConnectionResetError):
        # The client hung up before its answer (often mid-body): nothing failed here and
        # nobody is left to answer, so no error is logged and no 500 is counted.
        log.debug("The client left during %s %s", request.method, request.path)
        return web.Response(status=CLIENT_CLOSED_REQUEST)
    log.error("Unexpected error in %s %s", request.method, request.path, exc_info=exc)
    return ErrorAnswer(500, str(ErrorCode.INTERNAL_ERROR), INTERNAL_ERROR_MESSAGE).response()


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error of a request answered as JSON with a stable code, and every answer marked
    ``X-Content-Type-Options: nosniff`` (for apps without the service's own routes, e.g.
    the metrics listener; the service's routes answer with ``server/api/routing.py``)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(request, exc)
    except Exception as exc:
        response = error_response(request, exc)
    if not response.prepared:
        response.headers[NO_SNIFFING[0]] = NO_SNIFFING[1]
    return response
