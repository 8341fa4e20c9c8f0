"""The host's team, numbers and stock warning lines in a real browser (Debian's Chromium):
the owner builds the team, each role's console shows only what the role may do, a crossed
warning line shows at once, and the owner reconciles. Screenshots in
test-artifacts/screenshots/team-*.png."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect
from redis.asyncio import Redis

from deploy.tools import ensure_chromium
from server.app import create_app
from server.hosts.accounts import HostAccounts
from server.settings import Settings

from .helpers import HOST, HOST_ID, HOST_PASSWORD, viewer

SCREENSHOTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
TEAM_PASSWORD = "another long password"


@pytest.fixture
async def base_url(app_settings: Settings, redis: Redis) -> AsyncIterator[str]:
    settings = dataclasses.replace(app_settings, demo_viewer_tokens=True)
    server = TestServer(create_app(settings))
    await server.start_server()
    accounts = HostAccounts(redis)
    for name in ("mod", "op"):
        await accounts.create(name, TEAM_PASSWORD)
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=ensure_chromium(), args=["--no-sandbox"], headless=True
        )
        yield browser
        await browser.close()


async def logs_in(
    browser: Browser, base_url: str, host_id: str, password: str, size: ViewportSize = DESKTOP
) -> tuple[Page, list[str]]:
    """A host's console, signed in; and the page's script errors as they come."""
    context = await browser.new_context(viewport=size)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{base_url}/console")
    await page.fill("#login-host", host_id)
    await page.fill("#login-password", password)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#home")).to_be_visible()
    return page, errors


async def owner_creates_a_live_show(page: Page) -> None:
    await page.fill("#new-room", "team-show")
    await page.fill("#new-title", "Team show")
    product = page.locator("#new-products fieldset").first
    await product.locator("[data-field=title]").fill("Travel mug")
    await product.locator("[data-field=sku]").fill("MUG-T")
    await product.locator("[data-field=stock]").fill("6")
    await product.locator("[data-field=per_user_limit]").fill("5")
    await product.locator("[data-field=countdown_seconds]").fill("0")
    await page.click("#new-show button[type=submit]")
    await expect(page.locator("#show-title")).to_have_text("Team show")
    await page.click("#go-live")
    await expect(page.locator("#show-status")).to_have_text("live")


async def test_each_role_sees_only_what_it_may_do_and_the_owner_runs_the_team(
    browser: Browser, base_url: str
) -> None:
    owner, owner_errors = await logs_in(browser, base_url, HOST_ID, HOST_PASSWORD)
    await owner_creates_a_live_show(owner)
    await expect(owner.locator("#my-role")).to_have_text("you: owner")
    team = owner.locator("#team-panel")
    for who, role in (("mod", "moderator"), ("op", "operator")):
        await team.locator("input[name=host_id]").fill(who)
        await team.locator("select[name=role]").select_option(role)
        await team.locator("button:has-text('Add to team')").click()
        await expect(team.locator(f"[data-member={who}]")).to_contain_text(role)
    await expect(owner.locator("#numbers-panel [data-chart=orders]")).to_be_visible()
    await expect(owner.locator("#numbers-panel")).to_contain_text("distinct buyers")

    # The moderator: chat tools only, no offers, no going live or ending, no team.
    mod, mod_errors = await logs_in(browser, base_url, "mod", TEAM_PASSWORD, PHONE)
    await mod.click("#show-list button:has-text('Team show')")
    await expect(mod.locator("#my-role")).to_have_text("you: moderator")
    await expect(mod.locator("#announce")).to_be_visible()
    await expect(mod.locator("#end-show")).to_be_hidden()
    await expect(mod.locator("#add-product-box")).to_be_hidden()
    await expect(mod.locator("#offer-rows button:has-text('Launch')")).to_be_hidden()
    await expect(mod.locator("#team-panel")).to_have_count(0)
    await expect(mod.locator("#warnings-panel")).to_have_count(0)
    await expect(mod.locator("#feature-panels > section:visible")).to_have_count(2)
    await expect(mod.locator("#questions-panel")).to_be_visible()
    await mod.fill("#announce-text", "Welcome! Questions in the chat please.")
    await mod.click("#announce button[type=submit]")
    await expect(mod.locator("#notice")).to_have_text("Posted.")
    await expect(mod.locator("#numbers-panel [data-number=conversion]")).to_be_visible()
    await mod.evaluate("window.scrollTo(0, 0)")
    await mod.screenshot(path=SCREENSHOTS / "team-phone.png")

    # The operator: offers and warning lines, but not the end of the show.
    op, op_errors = await logs_in(browser, base_url, "op", TEAM_PASSWORD)
    await op.click("#show-list button:has-text('Team show')")
    await expect(op.locator("#my-role")).to_have_text("you: operator")
    await expect(op.locator("#end-show")).to_be_hidden()
    await expect(op.locator("#offer-rows button:has-text('Launch')")).to_be_visible()
    await op.click("#offer-rows button:has-text('Launch')")
    await expect(op.locator("#offer-rows [data-state=open]")).to_be_visible(timeout=10_000)
    line = op.locator("#warnings-panel .warning-line").first
    await line.locator("input").fill("3")
    await line.locator("button").click()
    await expect(line.locator(".warning-state")).to_contain_text("3 units (= 3), armed")

    # A buyer takes 3 of 6: the line is crossed, and every console shows it at once.
    offer_id = await line.get_attribute("data-offer")
    async with aiohttp.ClientSession() as session:
        resp = await session.post(
            f"{base_url}/api/offers/{offer_id}/reservations",
            json={"idempotency_key": "press-browser-1", "quantity": 3},
            headers=viewer("ann"),
        )
        assert resp.status == 201, await resp.text()
    for page in (op, owner):
        await expect(page.locator("#stock-alerts")).to_contain_text("Travel mug: 3 left")
    await op.screenshot(path=SCREENSHOTS / "team-operator-desktop.png", full_page=True)

    await owner.click("#audit-load")
    await expect(owner.locator(".team-audit")).to_contain_text("set warning line")
    await expect(owner.locator(".team-audit")).to_contain_text("announce")
    await owner.click("#reconcile")
    await expect(owner.locator(".reconcile-result [data-ok]")).to_have_text(
        "Everything adds up (1 offers).", timeout=30_000
    )
    await owner.screenshot(path=SCREENSHOTS / "team-desktop.png", full_page=True)
    assert owner_errors == mod_errors == op_errors == []


async def test_the_api_refuses_what_the_console_hides(base_url: str) -> None:
    # unsafe: keep the session cookie of a server named by its IP address (127.0.0.1).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        body = {"room_id": "hidden-show", "title": "T", "products": []}
        async with session.post(f"{base_url}/api/shows", json=body, headers=HOST) as resp:
            assert resp.status == 201
        async with session.put(
            f"{base_url}/api/shows/hidden-show/team/mod", json={"role": "moderator"}, headers=HOST
        ) as resp:
            assert resp.status == 200
        login = {"host_id": "mod", "password": TEAM_PASSWORD}
        async with session.post(f"{base_url}/api/host/login", json=login) as resp:
            csrf = (await resp.json())["csrf_token"]
        async with session.post(
            f"{base_url}/api/shows/hidden-show/end", json={}, headers={"X-CSRF-Token": csrf}
        ) as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "role_forbids"
