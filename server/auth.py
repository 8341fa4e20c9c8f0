"""Who is calling: signed viewer tokens for buyers, and the host check.

Viewer token format (documented in docs/tokens.md so an identity service can mint them):

    v1.<payload>.<signature>

``payload`` is base64url (no padding) of the JSON object
``{"sub": user id, "name": display name, "exp": expiry in epoch seconds}`` and
``signature`` is base64url (no padding) of HMAC-SHA256(secret, "v1." + payload).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

import orjson
from aiohttp import web

from .appkeys import SETTINGS
from .errors import ApiError

USER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: str
    name: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, signed_part: str) -> str:
    return _b64(hmac.new(secret.encode(), signed_part.encode(), hashlib.sha256).digest())


def mint_viewer_token(secret: str, user_id: str, name: str, ttl_s: int = 12 * 3600) -> str:
    """A viewer token for ``user_id``, valid for ``ttl_s`` seconds."""
    if not USER_ID.match(user_id):
        raise ValueError("user id must be 1-64 letters, digits or _ . : @ -")
    payload = _b64(orjson.dumps({"sub": user_id, "name": name, "exp": int(time.time()) + ttl_s}))
    signed_part = f"v1.{payload}"
    return f"{signed_part}.{_sign(secret, signed_part)}"


def verify_viewer_token(secret: str, token: str) -> Viewer:
    """The viewer a token names; raises ApiError 401 for any bad or expired token."""
    version, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if version != "v1" or not payload or not signature:
        raise _unauthorized("This is not a livesale viewer token.")
    if not hmac.compare_digest(signature, _sign(secret, f"v1.{payload}")):
        raise _unauthorized("The viewer token's signature does not match.")
    try:
        claims = orjson.loads(_unb64(payload))
        user_id, name, expires_at = claims["sub"], claims["name"], claims["exp"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise _unauthorized("The viewer token's payload is unreadable.") from exc
    if not isinstance(user_id, str) or not USER_ID.match(user_id):
        raise _unauthorized("The viewer token names no valid user.")
    if not isinstance(expires_at, int) or expires_at < time.time():
        raise ApiError(401, "token_expired", "The viewer token has expired; sign in again.")
    return Viewer(user_id, str(name), expires_at)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "invalid_token", message)


def require_viewer(request: web.Request) -> Viewer:
    """The signed-in viewer of a request (``Authorization: Bearer <viewer token>``)."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "token_required", "Sign in to buy: send a viewer token.")
    return verify_viewer_token(request.app[SETTINGS].viewer_token_secret, token)


def require_host(request: web.Request) -> None:
    """Host endpoints: the single place where host authentication plugs in."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "host_auth_required", "Host endpoints need the host API token.")
    if not hmac.compare_digest(token, request.app[SETTINGS].host_api_token):
        raise ApiError(403, "host_forbidden", "This token may not run shows.")
