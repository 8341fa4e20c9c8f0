"""Host accounts: passwords, sessions with CSRF, API tokens, login limits, room ownership."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.app import create_app
from server.hosts.accounts import AccountError, HostAccounts
from server.hosts.keys import host as host_key
from server.hosts.login_guard import LoginLimits
from server.hosts.passwords import verify_password
from server.settings import Settings
from stockkeeper.settings import StockSettings

from .conftest import AiohttpClient
from .helpers import HOST, HOST_ID, HOST_PASSWORD
from .test_http_api import OFFER, error_code

Client = TestClient[web.Request, web.Application]


async def log_in(client: Client, password: str = HOST_PASSWORD) -> str:
    """Log the test host in; returns the session's CSRF token."""
    resp = await client.post("/api/host/login", json={"host_id": HOST_ID, "password": password})
    assert resp.status == 200, await resp.text()
    csrf: str = (await resp.json())["csrf_token"]
    return csrf


async def other_host(redis: Redis) -> dict[str, str]:
    accounts = HostAccounts(redis)
    await accounts.create("rival", "another long password")
    token = await accounts.mint_api_token("rival", "tests")
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------ passwords


async def test_passwords_are_stored_as_scrypt_hashes(redis: Redis) -> None:
    stored = await redis.hget(host_key(HOST_ID), "password")
    assert isinstance(stored, str)
    assert HOST_PASSWORD not in stored
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password(HOST_PASSWORD, stored)
    assert not verify_password(HOST_PASSWORD + "!", stored)


async def test_accounts_refuse_short_passwords_and_taken_names(redis: Redis) -> None:
    accounts = HostAccounts(redis)
    with pytest.raises(AccountError, match="already a host called"):
        await accounts.create(HOST_ID, "long enough password")
    with pytest.raises(AccountError, match="password needs 10"):
        await accounts.create("newhost", "short")
    assert await accounts.get("newhost") is None


# ------------------------------------------------------------------ sessions


async def test_login_sets_a_strict_http_only_session_cookie(client: Client) -> None:
    resp = await client.post(
        "/api/host/login", json={"host_id": HOST_ID, "password": HOST_PASSWORD}
    )
    assert resp.status == 200
    cookie = resp.headers["Set-Cookie"]
    assert "livesale_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    me = await (await client.get("/api/host/me")).json()
    assert me["host_id"] == HOST_ID
    assert me["csrf_token"] == (await resp.json())["csrf_token"]


async def test_a_change_without_the_csrf_token_is_refused(client: Client) -> None:
    csrf = await log_in(client)
    resp = await client.post("/api/shows", json={"room_id": "csrf-room", "title": "Show"})
    assert resp.status == 403
    assert await error_code(resp) == "csrf_failed"
    resp = await client.post(
        "/api/shows",
        json={"room_id": "csrf-room", "title": "Show"},
        headers={"X-CSRF-Token": "not-the-token"},
    )
    assert resp.status == 403
    # Nothing was created by the refused requests.
    assert (await (await client.get("/api/shows")).json())["shows"] == []
    resp = await client.post(
        "/api/shows", json={"room_id": "csrf-room", "title": "Show"}, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 201


async def test_host_endpoints_without_a_session_answer_401(client: Client) -> None:
    for method, path in (
        ("GET", "/api/host/me"),
        ("GET", "/api/shows"),
        ("POST", "/api/shows"),
        ("GET", "/api/shows/any-room"),
        ("POST", "/api/shows/any-room/end"),
        ("POST", "/api/rooms/any-room/announcements"),
        ("POST", "/api/offers/1/restock"),
        ("POST", "/api/host/tokens"),
    ):
        resp = await client.request(method, path, json={})
        assert resp.status == 401, path
        assert await error_code(resp) == "host_auth_required"


async def test_logout_ends_the_session_everywhere(client: Client) -> None:
    csrf = await log_in(client)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["livesale_session"]
    resp = await client.post("/api/host/logout", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    # The same cookie, replayed after logout, is worthless.
    resp = await client.get("/api/host/me", cookies={"livesale_session": cookie.value})
    assert resp.status == 401
    assert await error_code(resp) == "session_expired"


async def test_a_forged_session_cookie_is_refused(client: Client) -> None:
    await log_in(client)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["livesale_session"]
    session_id, _, signature = cookie.value.partition(".")
    client.session.cookie_jar.clear()
    resp = await client.get(
        "/api/host/me", cookies={"livesale_session": f"x{session_id}.{signature}"}
    )
    assert resp.status == 401


async def test_logins_are_rate_limited_per_account(
    aiohttp_client: AiohttpClient, app_settings: Settings, redis: Redis
) -> None:
    settings = dataclasses.replace(app_settings, login_limits=LoginLimits(per_account=3))
    client = await aiohttp_client(create_app(settings))
    for _ in range(3):
        resp = await client.post("/api/host/login", json={"host_id": HOST_ID, "password": "guess"})
        assert resp.status == 401
        assert await error_code(resp) == "invalid_login"
    # Locked: even the right password waits, and the answer says for how long.
    resp = await client.post(
        "/api/host/login", json={"host_id": HOST_ID, "password": HOST_PASSWORD}
    )
    assert resp.status == 429
    body = await resp.json()
    assert body["error"]["code"] == "too_many_attempts"
    assert 0 < body["error"]["retry_after_s"] <= 15 * 60


async def test_unknown_host_names_answer_like_wrong_passwords(client: Client) -> None:
    resp = await client.post("/api/host/login", json={"host_id": "nobody", "password": "x" * 12})
    assert resp.status == 401
    assert await error_code(resp) == "invalid_login"


# ------------------------------------------------------------------ API tokens and ownership


async def test_a_host_mints_an_api_token_for_automation(client: Client) -> None:
    csrf = await log_in(client)
    resp = await client.post(
        "/api/host/tokens", json={"label": "stream deck"}, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 201
    token = (await resp.json())["token"]
    client.session.cookie_jar.clear()
    resp = await client.get("/api/host/me", headers={"Authorization": f"Bearer {token}"})
    assert (await resp.json())["host_id"] == HOST_ID


async def test_a_host_lists_and_revokes_api_tokens_and_a_revoked_one_stops_at_once(
    client: Client, redis: Redis
) -> None:
    csrf = await log_in(client)
    session = {"X-CSRF-Token": csrf}
    resp = await client.post("/api/host/tokens", json={"label": "OBS"}, headers=session)
    minted = await resp.json()
    listed = (await (await client.get("/api/host/tokens")).json())["tokens"]
    assert [(t["token_id"], t["label"]) for t in listed][-1] == (minted["token_id"], "OBS")
    assert "token" not in listed[-1]
    scripted = {"Authorization": f"Bearer {minted['token']}"}
    assert (await client.get("/api/host/me", headers=scripted)).status == 200

    resp = await client.delete(f"/api/host/tokens/{minted['token_id']}")
    assert (resp.status, await error_code(resp)) == (403, "csrf_failed")
    rival = await other_host(redis)
    rival_id = (await (await client.get("/api/host/tokens", headers=rival)).json())["tokens"]
    resp = await client.delete(f"/api/host/tokens/{rival_id[0]['token_id']}", headers=session)
    assert (resp.status, await error_code(resp)) == (404, "unknown_token")

    resp = await client.delete(f"/api/host/tokens/{minted['token_id']}", headers=session)
    assert await resp.json() == {"revoked": minted["token_id"]}
    client.session.cookie_jar.clear()
    resp = await client.get("/api/host/me", headers=scripted)
    assert (resp.status, await error_code(resp)) == (401, "invalid_host_token")


async def test_the_command_line_lists_and_revokes_a_hosts_tokens(
    redis: Redis, stock_settings: StockSettings
) -> None:
    env = {**os.environ, "LIVESALE_REDIS_URL": stock_settings.redis_url}

    def livesale(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from server.cli import main; main()", "host", *args, HOST_ID],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    minted = await asyncio.to_thread(livesale, "api-token", "--label", "nightly restock")
    token = minted.stdout.strip()
    accounts = HostAccounts(redis)
    assert await accounts.host_for_api_token(token) == HOST_ID
    listed = await asyncio.to_thread(livesale, "tokens")
    line = next(line for line in listed.stdout.splitlines() if "nightly restock" in line)
    token_id = line.split()[0]
    revoked = await asyncio.to_thread(livesale, "revoke-token", "--token-id", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert await accounts.host_for_api_token(token) is None
    again = await asyncio.to_thread(livesale, "revoke-token", "--token-id", token_id)
    assert again.returncode != 0
    assert "nothing changed" in again.stderr


async def test_hosts_cannot_touch_each_others_rooms(client: Client, redis: Redis) -> None:
    rival = await other_host(redis)
    resp = await client.post("/api/offers", json=OFFER, headers=HOST)
    offer_id = (await resp.json())["id"]
    resp = await client.post("/api/offers", json={**OFFER, "sku": "MINE"}, headers=rival)
    assert resp.status == 403
    assert await error_code(resp) == "not_your_room"
    for path, body in (
        (f"/api/offers/{offer_id}/open", {}),
        (f"/api/offers/{offer_id}/restock", {"quantity": 5}),
        (f"/api/offers/{offer_id}/close", {}),
        ("/api/rooms/room-1/announcements", {"text": "hijacked"}),
        ("/api/rooms/room-1/bans", {"user_id": "alice"}),
    ):
        resp = await client.post(path, json=body, headers=rival)
        assert resp.status == 403, path
        assert await error_code(resp) == "not_your_room"
    offer = await (await client.get(f"/api/offers/{offer_id}")).json()
    assert (offer["state"], offer["total"]) == ("draft", OFFER["stock"])
