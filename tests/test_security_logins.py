"""Host sign-in under attack: simultaneous guesses meet the login limits, a new password
ends the host's sessions."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.hosts.accounts import HostAccounts
from server.hosts.keys import login_failures
from server.hosts.login_guard import LoginGuard, LoginLimits
from stockkeeper.settings import StockSettings

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


# ------------------------------------------------------------------ a new password


Browsers = Callable[[str, str], Awaitable[aiohttp.ClientSession]]


@pytest.fixture
async def browsers(client: Client) -> AsyncIterator[Browsers]:
    """Opens browsers of their own (their own cookies) signed in to the app as a host."""
    opened: list[aiohttp.ClientSession] = []

    async def signed_in(host_id: str, password: str) -> aiohttp.ClientSession:
        browser = aiohttp.ClientSession(
            base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        opened.append(browser)
        resp = await browser.post(
            "/api/host/login", json={"host_id": host_id, "password": password}
        )
        assert resp.status == 200, await resp.text()
        return browser

    yield signed_in
    for browser in opened:
        await browser.close()


async def test_a_new_password_ends_every_session_of_the_host_and_says_why(
    browsers: Browsers, redis: Redis
) -> None:
    """Guards against a changed password leaving the host's other sessions signed in."""
    laptop = await browsers(HOST_ID, HOST_PASSWORD)
    phone = await browsers(HOST_ID, HOST_PASSWORD)
    await HostAccounts(redis).create("rival", "another long password")
    rival_browser = await browsers("rival", "another long password")

    ended = await HostAccounts(redis).set_password(HOST_ID, "a brand new password")

    assert ended == 2
    for browser in (laptop, phone):
        resp = await browser.get("/api/host/me")
        assert resp.status == 401
        error = (await resp.json())["error"]
        assert error["code"] == "session_expired"
        assert "password was changed" in error["message"]
    # Other hosts stay signed in; the new password signs the host in again.
    assert (await rival_browser.get("/api/host/me")).status == 200
    resp = await laptop.post(
        "/api/host/login", json={"host_id": HOST_ID, "password": "a brand new password"}
    )
    assert resp.status == 200
    assert (await laptop.get("/api/host/me")).status == 200


async def test_the_command_line_password_change_signs_the_host_out_everywhere(
    browsers: Browsers, stock_settings: StockSettings
) -> None:
    browser = await browsers(HOST_ID, HOST_PASSWORD)
    env = {
        **os.environ,
        "LIVESALE_REDIS_URL": stock_settings.redis_url,
        "LIVESALE_HOST_PASSWORD": "a brand new password",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from server.cli import main; main()", "host", "password", HOST_ID],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    resp = await browser.get("/api/host/me")
    assert (resp.status, (await resp.json())["error"]["code"]) == (401, "session_expired")


async def test_sessions_that_ended_before_the_change_are_not_brought_back(
    client: Client, redis: Redis
) -> None:
    resp = await client.post(
        "/api/host/login", json={"host_id": HOST_ID, "password": HOST_PASSWORD}
    )
    csrf = (await resp.json())["csrf_token"]
    await client.post("/api/host/logout", headers={"X-CSRF-Token": csrf})
    assert await HostAccounts(redis).set_password(HOST_ID, "a brand new password") == 0
    assert await redis.keys("ls:session:*") == []


@pytest.mark.parametrize("change_after_s", [0.0, 0.005, 0.02, 0.05, 0.1])
async def test_a_login_racing_a_password_change_never_keeps_a_session(
    client: Client, redis: Redis, change_after_s: float
) -> None:
    """Guards against a login that checked the old password while the host changed it
    keeping its session: the change ended the sessions it could list, not that one."""
    browser = aiohttp.ClientSession(
        base_url=str(client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    try:
        login = asyncio.create_task(
            browser.post("/api/host/login", json={"host_id": HOST_ID, "password": HOST_PASSWORD})
        )
        await asyncio.sleep(change_after_s)
        await HostAccounts(redis).set_password(HOST_ID, "a brand new password")
        resp = await login
        me = await browser.get("/api/host/me")
        # Whatever the order, the old password opens nothing once the new one is set.
        assert resp.status == 401 or me.status == 401, (resp.status, me.status)
    finally:
        await browser.close()
