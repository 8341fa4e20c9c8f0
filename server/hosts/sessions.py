"""Browser sessions of hosts: a signed cookie naming a session kept in Redis.

The cookie is ``<session id>.<HMAC-SHA256 of the id>``; the signature lets a server turn
away forged cookies without a Redis round trip, and the Redis entry lets a host log out
(or an operator end every session of a host) at once. Each session has its own CSRF token,
which the console sends back in ``X-CSRF-Token`` on every change.

Each host's session ids are also listed in a set, so that a new password can end every
session of the host at once; an ended session leaves a marker until it would have expired,
so that its cookie is told why it no longer works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from ..errors import ErrorCode, Unauthorized
from . import keys

COOKIE_NAME = "livesale_session"
#: Why a session was ended before its time (the marker its key keeps).
ENDED_BY_NEW_PASSWORD = "password_changed"
NEW_PASSWORD_MESSAGE = (
    "Your password was changed, so this session was signed out. Log in with the new password."
)


@dataclass(frozen=True, slots=True)
class Session:
    """A host's signed-in browser session and its CSRF token."""

    session_id: str
    host_id: str
    csrf_token: str


class Sessions:
    """Host sessions in Redis behind a signed cookie, listed per host."""

    def __init__(self, redis: Redis, secret: str, ttl_s: int) -> None:
        self.redis = redis
        self._key = secret.encode()
        self.ttl_s = ttl_s

    def _sign(self, session_id: str) -> str:
        mac = hmac.new(self._key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def _session_id(self, cookie: str) -> str | None:
        session_id, _, signature = cookie.partition(".")
        if not session_id or not hmac.compare_digest(signature, self._sign(session_id)):
            return None
        return session_id

    async def create(self, host_id: str) -> tuple[str, Session]:
        """A new session; returns the cookie value and the session."""
        session = Session(secrets.token_urlsafe(24), host_id, secrets.token_urlsafe(24))
        key = keys.session(session.session_id)
        # Two keys in different cluster slots, so no MULTI. The host's list expires with
        # its newest session.
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(
            key,
            mapping={
                "host_id": host_id,
                "csrf": session.csrf_token,
                "created_at": int(time.time() * 1000),
            },
        )
        pipe.expire(key, self.ttl_s)
        pipe.sadd(keys.host_sessions(host_id), session.session_id)
        pipe.expire(keys.host_sessions(host_id), self.ttl_s)
        await pipe.execute()
        return f"{session.session_id}.{self._sign(session.session_id)}", session

    async def lookup(self, cookie: str) -> Session | None:
        """The session of a cookie, if it is genuine and still open; Unauthorized
        (``session_expired``, saying why) when a new password ended it."""
        session_id = self._session_id(cookie)
        if session_id is None:
            return None
        raw = cast(dict[str, str], await self.redis.hgetall(keys.session(session_id)))
        if raw.get("ended") == ENDED_BY_NEW_PASSWORD:
            raise Unauthorized(ErrorCode.SESSION_EXPIRED, NEW_PASSWORD_MESSAGE)
        if "host_id" not in raw:
            return None
        return Session(session_id, raw["host_id"], raw["csrf"])

    async def end(self, cookie: str) -> None:
        """End the session of a cookie."""
        session_id = self._session_id(cookie)
        if session_id is not None:
            await self.redis.delete(keys.session(session_id))


async def end_host_sessions(redis: Redis, host_id: str) -> int:
    """End every open session of a host because its password changed; how many were ended.
    Each one's cookie is told why until it would have expired."""
    index = keys.host_sessions(host_id)
    session_ids = list(cast(set[str], await redis.smembers(index)))
    if not session_ids:
        return 0
    pipe = redis.pipeline(transaction=False)
    for session_id in session_ids:
        pipe.pttl(keys.session(session_id))
    lifetimes = await pipe.execute()
    pipe = redis.pipeline(transaction=False)
    ended = 0
    for session_id, lifetime_ms in zip(session_ids, lifetimes, strict=True):
        if int(lifetime_ms) <= 0:
            continue  # expired or logged out already
        key = keys.session(session_id)
        pipe.delete(key)
        pipe.hset(key, "ended", ENDED_BY_NEW_PASSWORD)
        pipe.pexpire(key, int(lifetime_ms))
        ended += 1
    pipe.srem(index, *session_ids)
    await pipe.execute()
    return ended
