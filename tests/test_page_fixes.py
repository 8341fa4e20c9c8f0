"""What the pages got wrong when tried as a new user would (issue 16), each checked in a real
browser, phone-sized, with screenshots in test-artifacts/screenshots/; and the command line's
own rough edges."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import aiohttp
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from .helpers import HOST, HOST_ID, HOST_PASSWORD, VIEWER_SECRET
from .room_helpers import events_until, of_type
from .test_browser import (  # noqa: F401 (fixtures)
    PHONE,
    SCREENSHOTS,
    base_url,
    browser,
    host_creates_a_live_show,
    host_logs_in,
    no_page_errors,
)

LIVESALE = [sys.executable, "-c", "from server.cli import main; main()"]


async def phone(chromium: Browser, url: str) -> Page:
    context = await chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await page.goto(url)
    return page


async def api(
    session: aiohttp.ClientSession, method: str, url: str, body: object = None
) -> dict[str, object]:
    async with session.request(method, url, json=body, headers=HOST) as resp:
        assert resp.status < 300, await resp.text()
        answer: dict[str, object] = await resp.json()
        return answer


async def test_a_room_without_a_show_says_so_without_live_or_a_join_form(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    page = await phone(browser, f"{base_url}/watch/nobody-here")
    errors = no_page_errors(page)
    await expect(page.locator("#status")).to_have_text("no such show")
    await expect(page.locator("#title")).to_have_text("No such show")
    await expect(page.locator("#announcement")).to_contain_text("There is no show called")
    await expect(page.locator(".live-badge")).to_be_hidden()
    await expect(page.locator("#join")).to_be_hidden()
    await expect(page.locator("#chat-form")).to_be_hidden()
    await page.screenshot(path=SCREENSHOTS / "no-such-show-phone.png")
    assert errors == []


async def test_an_ended_show_says_ended_without_live_or_a_join_form(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    async with aiohttp.ClientSession() as session:
        show = {"room_id": "over-1", "title": "Last night's sale", "products": []}
        await api(session, "POST", f"{base_url}/api/shows", show)
        await api(session, "POST", f"{base_url}/api/shows/over-1/live", {})
        await api(session, "POST", f"{base_url}/api/shows/over-1/end", {})
    page = await phone(browser, f"{base_url}/watch/over-1")
    await expect(page.locator("#status")).to_have_text("ended")
    await expect(page.locator("#title")).to_have_text("Last night's sale")
    await expect(page.locator("#announcement")).to_contain_text("This show has ended")
    await expect(page.locator(".live-badge")).to_be_hidden()
    await expect(page.locator("#join")).to_be_hidden()
    await page.screenshot(path=SCREENSHOTS / "ended-show-phone.png")


async def test_a_viewer_watching_when_the_show_ends_sees_ended(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "ends-1", countdown_s=0)
    page = await phone(browser, f"{base_url}/watch/ends-1")
    await expect(page.locator("#status")).to_have_text("live")
    await expect(page.locator(".live-badge")).to_be_visible()
    host.on("dialog", lambda dialog: dialog.accept())
    await host.click("#end-show")
    await expect(page.locator("#status")).to_have_text("ended")
    await expect(page.locator(".live-badge")).to_be_hidden()
    await expect(page.locator("#join")).to_be_hidden()


async def test_an_offer_in_its_countdown_is_scheduled_in_the_api_the_room_and_the_console(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "count-1", countdown_s=6)
    viewer = await phone(browser, f"{base_url}/watch/count-1")
    await expect(viewer.locator("#status")).to_have_text("live")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base_url}/rooms/count-1/live")
        await events_until(ws, of_type("snapshot"))
        await host.click("#offer-rows button:has-text('Launch')")
        announced = (await events_until(ws, of_type("offer_announced")))[-1]
        assert announced["offer"]["state"] == "scheduled"
        offer_id = announced["offer"]["id"]
        async with session.get(f"{base_url}/api/offers/{offer_id}") as resp:
            assert (await resp.json())["state"] == "scheduled"
        pill = host.locator("#offer-rows tr").first.locator(".pill")
        await expect(pill).to_have_text("scheduled")
        await expect(viewer.locator("#offer-state")).to_contain_text("Starts in")
        await host.screenshot(path=SCREENSHOTS / "console-scheduled-desktop.png", full_page=True)
        await viewer.screenshot(path=SCREENSHOTS / "offer-scheduled-phone.png")
        await events_until(ws, of_type("offer_open"), timeout_s=15)
        async with session.get(f"{base_url}/api/offers/{offer_id}") as resp:
            assert (await resp.json())["state"] == "open"
        await expect(pill).to_have_text("open", timeout=10_000)
        await ws.close()


async def test_the_window_shown_is_the_window_asked_for(
    base_url: str,  # noqa: F811
) -> None:
    """Guards against 600 shown for 300 asked: the launch kept the creation preset."""
    async with aiohttp.ClientSession() as session:
        body = {"room_id": "window-1", "sku": "MUG", "title": "Mug", "unit_price": 500}
        body |= {"currency": "EUR", "stock": 5}
        offer = await api(session, "POST", f"{base_url}/api/offers", body)
        assert (offer["window_s"], offer["countdown_s"]) == (600, 10)  # the presets
        opened = await api(
            session,
            "POST",
            f"{base_url}/api/offers/{offer['id']}/open",
            {"countdown_seconds": 30, "window_seconds": 300},
        )
        assert (opened["window_s"], opened["countdown_s"]) == (300, 30)
        assert opened["closes_at_ms"] - opened["opens_at_ms"] == 300_000  # type: ignore[operator]
        again = await api(session, "GET", f"{base_url}/api/offers/{offer['id']}")
        assert (again["window_s"], again["state"]) == (300, "scheduled")


async def test_a_successful_login_clears_the_last_failed_ones_error_and_the_stock_box_has_a_label(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(f"{base_url}/console")
    await page.fill("#login-host", HOST_ID)
    await page.fill("#login-password", "not the password")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#notice")).to_be_visible()
    await page.fill("#login-password", HOST_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#home")).to_be_visible()
    await expect(page.locator("#notice")).to_be_hidden()

    await host_creates_a_live_show(page, "label-1", countdown_s=10)
    row = page.locator("#offer-rows tr").first
    units = row.get_by_label("Units")
    await expect(units).to_have_value("10")
    await page.screenshot(path=SCREENSHOTS / "console-units-desktop.png", full_page=True)


async def test_an_upcoming_show_has_a_preview_remind_me_and_a_place_on_the_front_page(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
    redis: Redis,
) -> None:
    starts = int(time.time() * 1000) + 2 * 3600_000 + 5 * 60_000
    async with aiohttp.ClientSession() as session:
        show = {"room_id": "soon-1", "title": "Sneaker drop Friday", "products": []}
        await api(session, "POST", f"{base_url}/api/shows", show)
        setup = {
            "starts_at_ms": starts,
            "description": "Limited sneakers, 50 pairs at 30% off.",
            "cover_url": "",
        }
        await api(session, "PATCH", f"{base_url}/api/shows/soon-1/setup", setup)
        live = {"room_id": "now-1", "title": "Live right now", "products": []}
        await api(session, "POST", f"{base_url}/api/shows", live)
        await api(session, "POST", f"{base_url}/api/shows/now-1/live", {})

    home = await phone(browser, f"{base_url}/")
    cards = home.locator("#shows li")
    await expect(cards).to_have_count(2)
    await expect(cards.nth(0)).to_have_attribute("data-room", "now-1")
    await expect(cards.nth(0)).to_contain_text("LIVE now")
    await expect(cards.nth(1)).to_contain_text("Sneaker drop Friday")
    await home.screenshot(path=SCREENSHOTS / "front-page-phone.png")

    await cards.nth(1).locator("a").click()
    await expect(home.locator("#status")).to_have_text("upcoming")
    await expect(home.locator(".live-badge")).to_be_hidden()
    await expect(home.locator("#preview-title")).to_have_text("Sneaker drop Friday")
    await expect(home.locator("#starts-in")).to_contain_text("Starts in 2:0")
    await expect(home.locator("#preview-description")).to_have_text(
        "Limited sneakers, 50 pairs at 30% off."
    )
    await home.click("#remind")
    await expect(home.locator("#remind-note")).to_contain_text("Pick a nickname")
    await home.fill("#nickname", "Ann")
    await home.click("#join button[type=submit]")
    await expect(home.locator("#remind")).to_have_text("✓ We will remind you")
    await home.screenshot(path=SCREENSHOTS / "upcoming-show-phone.png")

    # Coming back, the page knows this viewer asked.
    await home.reload()
    await expect(home.locator("#remind")).to_have_text("✓ We will remind you")

    host = await host_logs_in(browser, base_url)
    await host.goto(f"{base_url}/console?show=soon-1")
    await expect(host.locator("#reminder-count")).to_have_text("1 viewer asked to be reminded")
    await expect(host.locator("[data-setup=description]")).to_have_value(
        "Limited sneakers, 50 pairs at 30% off."
    )
    await host.screenshot(path=SCREENSHOTS / "console-setup-desktop.png", full_page=True)


def test_each_host_action_prints_its_own_help() -> None:
    texts = {}
    for action in ("create", "password", "api-token", "tokens", "revoke-token"):
        done = subprocess.run(
            [*LIVESALE, "host", action, "--help"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert f"livesale host {action}" in done.stdout
        texts[action] = done.stdout
    assert len(set(texts.values())) == 5
    assert "--token-id" in texts["revoke-token"]
    assert "--token-id" not in texts["create"]
    assert "--label" in texts["api-token"]


def test_a_second_serve_on_a_busy_port_says_so_in_one_line(redis: Redis) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            **os.environ,
            "LIVESALE_REDIS_URL": os.environ.get(
                "LIVESALE_TEST_REDIS_URL", "redis://127.0.0.1:16379/15"
            ),
            "LIVESALE_VIEWER_SECRET": VIEWER_SECRET,
            "LIVESALE_RUN_RELAY": "0",
            "LIVESALE_LOG_LEVEL": "ERROR",
        }
        done = subprocess.run(
            [*LIVESALE, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"livesale serve: 127.0.0.1:{port} is already in use (another livesale serve?). "
        "Stop it, or pick another port with --port."
    ]
