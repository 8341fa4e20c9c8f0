"""Host accounts in Redis: who may run shows, their passwords and their API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from ..plain_text import without_bidi_controls
from . import keys
from .passwords import MAX_LENGTH, MIN_LENGTH, check_password, hash_password
from .sessions import end_host_sessions

HOST_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
HOST_ID_HINT = "2-32 lowercase letters, digits or _ . - (starting with a letter or digit)"
API_TOKEN_PREFIX = "lsh_"


#: Hex digits of a token's digest that name it in lists and revocations.
TOKEN_ID_LENGTH = 12


@dataclass(frozen=True, slots=True)
class ApiToken:
    """What is known of an API token after it was shown: never the token itself."""

    token_id: str
    label: str
    created_at: int


class AccountError(Exception):
    """Root of the host account errors; the message is written for the person typing."""


@dataclass(frozen=True, slots=True)
class Host:
    """A host account as the console shows it."""

    host_id: str
    display_name: str
    created_at: int


def _digest(token: str) -> str:
    # API tokens are long random strings: a plain SHA-256 is enough to keep them unreadable
    # in Redis and lets a request find its host in one GET.
    return hashlib.sha256(token.encode()).hexdigest()


def token_id(token: str) -> str:
    """The id that names an API token in lists and revocations (not secret)."""
    return _digest(token)[:TOKEN_ID_LENGTH]


def check_new_password(password: str) -> None:
    """Raise AccountError unless the password is a usable length."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise AccountError(f"A password needs {MIN_LENGTH} to {MAX_LENGTH} characters.")


class HostAccounts:
    """Host accounts in Redis: passwords (scrypt), display names and API tokens."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(self, host_id: str, password: str, display_name: str = "") -> Host:
        """A new host account; AccountError for a bad name or one taken."""
        if not HOST_ID.match(host_id):
            raise AccountError(f"A host name is {HOST_ID_HINT}.")
        check_new_password(password)
        display_name = without_bidi_controls(display_name).strip()
        now = int(time.time() * 1000)
        created = await self.redis.hsetnx(keys.host(host_id), "host_id", host_id)
        if not created:
            raise AccountError(f"There is already a host called {host_id}.")
        await self.redis.hset(
            keys.host(host_id),
            mapping={
                "display_name": display_name or host_id,
                "password": hash_password(password),
                "created_at": now,
            },
        )
        await self.redis.sadd(keys.HOSTS, host_id)
        return Host(host_id, display_name or host_id, now)

    async def set_password(self, host_id: str, password: str) -> int:
        """Replace a host's password and end every session of the host (whoever knew the
        old password is signed out); how many sessions were ended. API tokens stay valid:
        they are revoked one by one."""
        check_new_password(password)
        if not await self.redis.exists(keys.host(host_id)):
            raise AccountError(f"There is no host called {host_id}.")
        await self.redis.hset(keys.host(host_id), "password", hash_password(password))
        return await end_host_sessions(self.redis, host_id)

    async def get(self, host_id: str) -> Host | None:
        """The host, if the account exists."""
        raw = cast(dict[str, str], await self.redis.hgetall(keys.host(host_id)))
        if "host_id" not in raw or "password" not in raw:
            return None
        return Host(raw["host_id"], raw["display_name"], int(raw["created_at"]))

    async def authenticate(self, host_id: str, password: str) -> Host | None:
        """The host whose password this is, or None (in the same time either way)."""
        found = await self.check(host_id, password)
        return found[0] if found else None

    async def check(self, host_id: str, password: str) -> tuple[Host, str] | None:
        """The host whose password this is and the stored hash it matched, or None."""
        stored = None
        if HOST_ID.match(host_id):
            stored = await self.password_hash(host_id)
        # Checked against a decoy when there is no such host: the same time either way.
        if not await check_password(password, stored) or stored is None:
            return None
        host = await self.get(host_id)
        return (host, stored) if host is not None else None

    async def password_hash(self, host_id: str) -> str | None:
        """The stored hash of the host's password (it changes with every new password)."""
        return cast(str | None, await self.redis.hget(keys.host(host_id), "password"))

    async def still_valid(self, host_id: str, checked_hash: str) -> bool:
        """Whether the password checked against ``checked_hash`` is still the host's."""
        return await self.password_hash(host_id) == checked_hash

    async def count(self) -> int:
        """How many host accounts there are."""
        return int(await self.redis.scard(keys.HOSTS))

    # ------------------------------------------------------------------ API tokens

    async def add_api_token(self, host_id: str, token: str, label: str) -> None:
        """Register ``token`` for ``host_id`` (only its digest is stored)."""
        digest = _digest(token)
        now = int(time.time() * 1000)
        # Two keys in different cluster slots: listed first, so a token never works
        # without appearing in its host's list.
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(keys.host_tokens(host_id), digest, f"{label}:{now}")
        pipe.set(keys.api_token(digest), host_id)
        await pipe.execute()

    async def mint_api_token(self, host_id: str, label: str) -> str:
        """A new API token for automation; shown once, never stored in the clear."""
        if await self.get(host_id) is None:
            raise AccountError(f"There is no host called {host_id}.")
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self.add_api_token(host_id, token, label)
        return token

    async def host_for_api_token(self, token: str) -> str | None:
        """The host an API token belongs to, or None for an unknown or revoked one."""
        return cast(str | None, await self.redis.get(keys.api_token(_digest(token))))

    async def api_tokens(self, host_id: str) -> list[ApiToken]:
        """The host's API tokens, oldest first: an id to revoke each by, label and date."""
        raw = cast(dict[str, str], await self.redis.hgetall(keys.host_tokens(host_id)))
        tokens = []
        for digest, value in raw.items():
            label, _, created = value.rpartition(":")
            tokens.append(ApiToken(digest[:TOKEN_ID_LENGTH], label, int(created or 0)))
        return sorted(tokens, key=lambda t: t.created_at)

    async def revoke_api_token(self, host_id: str, token_or_id: str) -> bool:
        """Revoke one of the host's tokens, named by itself or by its id from
        :meth:`api_tokens`; False when the host has no such token. Works at once: tokens
        are looked up in Redis on every request."""
        digests = cast(list[str], await self.redis.hkeys(keys.host_tokens(host_id)))
        wanted = _digest(token_or_id)
        matches = [d for d in digests if d == wanted or d[:TOKEN_ID_LENGTH] == token_or_id]
        if len(matches) != 1:
            return False
        # The lookup key first: from then on the token no longer works.
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(keys.api_token(matches[0]))
        pipe.hdel(keys.host_tokens(host_id), matches[0])
        await pipe.execute()
        return True
