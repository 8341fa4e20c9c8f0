"""Signed viewer tokens: minted by an identity service, verified by every server process.

Format (documented in docs/tokens.md so an identity service can mint them):

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

from .errors import ErrorCode, Unauthorized

USER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in viewer, as a verified token names them."""

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
    """The viewer a token names; raises Unauthorized for any bad or expired token."""
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
        raise _expired()
    return Viewer(user_id, str(name), expires_at)


class ViewerTokens:
    """Verifies viewer tokens, remembering the ones already verified.

    In a rush every viewer presses many times with the same token; checking its signature
    once instead of on every press takes an HMAC, three base64 decodes and a JSON parse off
    the hot path. Expiry is still checked on every use.
    """

    def __init__(self, secret: str, capacity: int = 200_000) -> None:
        self._secret = secret
        self._capacity = capacity
        self._verified: dict[str, Viewer] = {}

    def verify(self, token: str) -> Viewer:
        """The viewer a token names; raises Unauthorized for any bad or expired token."""
        viewer = self._verified.get(token)
        if viewer is None:
            viewer = verify_viewer_token(self._secret, token)
            if len(self._verified) >= self._capacity:
                self._verified.clear()
            self._verified[token] = viewer
        elif viewer.expires_at < time.time():
            del self._verified[token]
            raise _expired()
        return viewer


def _unauthorized(message: str) -> Unauthorized:
    return Unauthorized(ErrorCode.INVALID_TOKEN, message)


def _expired() -> Unauthorized:
    return Unauthorized(ErrorCode.TOKEN_EXPIRED, "The viewer token has expired; sign in again.")
