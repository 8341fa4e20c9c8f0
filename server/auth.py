"""Who is calling: viewers by their signed token, hosts by the host check."""

from __future__ import annotations

import hmac

from aiohttp import web

from .appkeys import SETTINGS, VIEWER_TOKENS
from .errors import ApiError
from .tokens import Viewer


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_viewer(request: web.Request) -> Viewer:
    """The signed-in viewer of a request (``Authorization: Bearer <viewer token>``)."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "token_required", "Sign in to buy: send a viewer token.")
    return request.app[VIEWER_TOKENS].verify(token)


def require_host(request: web.Request) -> None:
    """Host endpoints: the single place where host authentication plugs in."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "host_auth_required", "Host endpoints need the host API token.")
    if not hmac.compare_digest(token, request.app[SETTINGS].host_api_token):
        raise ApiError(403, "host_forbidden", "This token may not run shows.")
