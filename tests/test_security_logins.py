"""Host sign-in under attack: simultaneous guesses meet the login limits, a new password
ends the host's sessions."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.hosts.login_guard import LoginGuard, LoginLimits
from server.hosts.keys import login_failures

from .helpers import HOST_ID, HOST_PASSWORD

Client = TestClient[web.Request, web.Application]


async def outcomes(client: Client, logins: list[dict[str, str]]) -> Counter[tuple[int, str]]:
    """Send every login at once; how many got each (status, code)."""

    async def one(body: dict[str, str]) -> tuple[int, str]:
        resp = await client.post("/api/host/login", json=body)
        data = await resp.json()
        return resp.status, data["error"]["code"] if "error" in data else "ok"

    return Counter(await asyncio.gather(*(one(body) for body in logins)))


# ------------------------------------------------------------------ login limits


async def test_simultaneous_wrong_passwords_for_one_account_meet_its_limit(
    client: Client,
) -> None:
    """Guards against 40 simultaneous guesses all getting 401: the counter was read before
    the passwords were checked and raised only after, so every guess saw it at 0."""
    wrong = [{"host_id": HOST_ID, "password": f"guess number {i}"} for i in range(40)]
    counted = await outcomes(client, wrong)
    limit = LoginLimits().per_account
    assert counted == {(401, "invalid_login"): limit, (429, "too_many_attempts"): 40 - limit}
    # Locked now: the right password waits too.
    right = await outcomes(client, [{"host_id": HOST_ID, "password": HOST_PASSWORD}])
    assert right == {(429, "too_many_attempts"): 1}


async def test_simultaneous_unknown_names_from_one_address_meet_its_limit(
    client: Client,
) -> None:
    """Guards against 60 simultaneous logins under made-up names all getting 401."""
    names = [{"host_id": f"nobody-{i}", "password": "x" * 12} for i in range(60)]
    counted = await outcomes(client, names)
    limit = LoginLimits().per_address
    assert counted == {(401, "invalid_login"): limit, (429, "too_many_attempts"): 60 - limit}


async def test_a_successful_login_clears_the_account_and_costs_the_address_nothing(
    client: Client, redis: Redis
) -> None:
    await outcomes(client, [{"host_id": HOST_ID, "password": "a wrong guess"}] * 2)
    assert await redis.get(login_failures("account", HOST_ID)) == "2"
    assert await outcomes(client, [{"host_id": HOST_ID, "password": HOST_PASSWORD}]) == {
        (200, "ok"): 1
    }
    assert await redis.get(login_failures("account", HOST_ID)) is None
    # Only the two failures count against the address.
    assert await redis.get(login_failures("address", "127.0.0.1")) == "2"


async def test_every_attempt_counter_expires_with_its_window(redis: Redis) -> None:
    guard = LoginGuard(redis, LoginLimits(per_account=1, window_s=60))
    assert await guard.attempt("someone", "10.0.0.1") == 0
    wait = await guard.attempt("someone", "10.0.0.1")
    assert 0 < wait <= 60
    for kind, who in (("account", "someone"), ("address", "10.0.0.1")):
        assert 0 < await redis.ttl(login_failures(kind, who)) <= 60
