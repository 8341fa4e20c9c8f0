"""Turns every error into a JSON body with a stable code, in one place."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

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

from .errors import ApiError
from .responses import json_response

log = logging.getLogger(__name__)

_HTTP_CODES = {
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not take that method."),
    413: ("body_too_large", "The request body is too large."),
}


def api_error_for(exc: StockKeeperError) -> ApiError:
    """The API's answer to a stock keeper error (HTTP and room sockets alike)."""
    details: dict[str, object] = {}
    match exc:
        case StockUnavailable():
            return ApiError(
                503,
                exc.code,
                "The stock service cannot be reached right now. Your request may not have "
                "been applied: retrying it with the same idempotency key is safe.",
                retriable=True,
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
            return ApiError(500, exc.code, "The stock service failed; we are looking into it.")
    return ApiError(status, exc.code, str(exc), **details)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        error = exc
    except StockKeeperError as exc:
        error = api_error_for(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_CODES.get(exc.status, ("http_error", exc.reason))
        error = ApiError(exc.status, code, message)
    except Exception:
        log.exception("Unexpected error in %s %s", request.method, request.path)
        error = ApiError(500, "internal_error", "Something went wrong on our side.")
    headers = {"Retry-After": "1"} if error.status == 503 else None
    return json_response(error.body(), status=error.status, headers=headers)
