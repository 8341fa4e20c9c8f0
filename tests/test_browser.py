"""The host console and the viewer page in a real browser (Debian's headless Chromium).

Screenshots land in test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from server.settings import Settings

from .helpers import HOST_ID, HOST_PASSWORD
from .room_helpers import ask, events_until, of_type, token

SCREENSHOTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
XSS = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> hi'


@pytest.fixture
async def base_url(app_settings: Settings, redis: Redis) -> AsyncIterator[str]:
    settings = dataclasses.replace(app_settings, demo_viewer_tokens=True, run_sweeper=True)
    server = TestServer(create_app(settings))
    await server.start_server()
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


def no_page_errors(page: Page) -> list[str]:
    """Collects the page's uncaught script errors, to assert there were none."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def host_logs_in(browser: Browser, base_url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{base_url}/console")
    await page.fill("#login-host", HOST_ID)
    await page.fill("#login-password", HOST_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#home")).to_be_visible()
    return page


async def host_creates_a_live_show(page: Page, room: str, countdown_s: int) -> None:
    await page.fill("#new-room", room)
    await page.fill("#new-title", "Sneaker drop")
    product = page.locator("#new-products fieldset").first
    await product.locator("[data-field=title]").fill("Limited sneakers <b>OG</b>")
    await product.locator("[data-field=sku]").fill("SNEAKER-OG")
    await product.locator("[data-field=price]").fill("12.50")
    await product.locator("[data-field=stock]").fill("5")
    await product.locator("[data-field=countdown_seconds]").fill(str(countdown_s))
    await page.click("#new-show button[type=submit]")
    await expect(page.locator("#show")).to_be_visible()
    await expect(page.locator("#show-title")).to_have_text("Sneaker drop")
    await page.click("#go-live")
    await expect(page.locator("#show-status")).to_have_text("live")


async def viewer_joins(
    browser: Browser,
    base_url: str,
    room: str,
    nickname: str,
    *,
    desktop: bool = False,
    init_script: str | None = None,
) -> Page:
    """A viewer on a phone (or a desktop browser) who joined the room with a nickname;
    ``init_script`` runs in the page before its own scripts."""
    if desktop:
        context = await browser.new_context(viewport=DESKTOP)
    else:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    if init_script is not None:
        await context.add_init_script(init_script)
    page = await context.new_page()
    await page.goto(f"{base_url}/watch/{room}")
    await expect(page.locator("#status")).to_have_text("live")
    await page.fill("#nickname", nickname)
    await page.click("#join button[type=submit]")
    await expect(page.locator("#chat-form")).to_be_visible()
    return page


async def test_a_viewer_buys_at_zero_and_the_host_sees_the_order(
    browser: Browser, base_url: str
) -> None:
    host = await host_logs_in(browser, base_url)
    host_errors = no_page_errors(host)
    await host_creates_a_live_show(host, "drop-1", countdown_s=4)
    viewer = await viewer_joins(browser, base_url, "drop-1", "Ann")
    viewer_errors = no_page_errors(viewer)

    await host.click("#offer-rows button:has-text('Launch')")
    await expect(viewer.locator("#offer-title")).to_have_text("Limited sneakers <b>OG</b>")
    await expect(viewer.locator("#offer-state")).to_contain_text("Starts in")
    await expect(viewer.locator("#buy")).to_be_disabled()
    await viewer.screenshot(path=SCREENSHOTS / "viewer-countdown.png")

    await expect(viewer.locator("#buy")).to_be_enabled(timeout=10_000)
    await viewer.click("#buy")
    await expect(viewer.locator("#purchase-text")).to_contain_text("Reserved 1 \u00d7")
    await expect(viewer.locator("#purchase-text")).to_contain_text("Pay within")
    await viewer.screenshot(path=SCREENSHOTS / "viewer-reserved.png")
    await viewer.click("#pay")
    await expect(viewer.locator("#purchase-text")).to_contain_text("Paid! Your order")
    await expect(viewer.locator("#stock-text")).to_have_text("4 of 5 left")

    await expect(host.locator("#t-orders")).to_have_text("1")
    await expect(host.locator("#t-gmv")).to_contain_text("12.50")
    # The viewer is counted; the host's own console is not.
    await expect(host.locator("#t-viewers")).to_have_text("1")
    await expect(host.locator("#t-conversion")).to_have_text("100.0%")
    row = host.locator("#offer-rows tr").first
    await expect(row).to_contain_text("1 / 5")
    await host.screenshot(path=SCREENSHOTS / "console-live.png", full_page=True)
    await viewer.screenshot(path=SCREENSHOTS / "viewer-paid.png")

    host.on("dialog", lambda dialog: dialog.accept())
    await host.click("#end-show")
    await expect(host.locator("#report")).to_be_visible()
    await expect(host.locator("#report-body")).to_contain_text("Units sold")
    await expect(host.locator("#report-csv")).to_have_attribute(
        "href", "/api/shows/drop-1/report.csv"
    )
    await host.screenshot(path=SCREENSHOTS / "console-report.png", full_page=True)
    await expect(viewer.locator("#announcement")).to_contain_text("The show has ended")
    assert host_errors == []
    assert viewer_errors == []


async def test_chat_shows_html_as_text_and_a_muted_viewer_cannot_post(
    browser: Browser, base_url: str
) -> None:
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "chat-1", countdown_s=0)
    viewer = await viewer_joins(browser, base_url, "chat-1", "Mallory")
    errors = no_page_errors(viewer)

    await viewer.fill("#chat-text", XSS)
    await viewer.click("#chat-form button[type=submit]")
    message = viewer.locator("#messages li .text").last
    await expect(message).to_have_text(XSS)
    assert await viewer.locator("#messages img, #messages script").count() == 0
    assert await viewer.evaluate("window.pwned") is None

    host_message = host.locator("#host-chat li").last
    await expect(host_message.locator(".text")).to_have_text(XSS)
    assert await host.locator("#host-chat img").count() == 0
    await host_message.locator("button:has-text('mute')").click()
    await expect(viewer.locator("#chat-error")).to_contain_text("muted")

    await viewer.fill("#chat-text", "let me talk")
    await viewer.click("#chat-form button[type=submit]")
    await expect(viewer.locator("#chat-error")).to_contain_text("muted")
    await viewer.wait_for_timeout(300)
    assert await viewer.locator("#messages li").count() == 1
    await viewer.screenshot(path=SCREENSHOTS / "viewer-muted.png")
    assert errors == []


async def test_the_console_page_cannot_change_anything_without_its_csrf_token(
    browser: Browser, base_url: str
) -> None:
    host = await host_logs_in(browser, base_url)
    # The session cookie goes along, but a forged form or script lacks the CSRF token.
    status = await host.evaluate(
        """async () => (await fetch('/api/shows', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({room_id: 'forged', title: 'Forged'})})).status"""
    )
    assert status == 403
    context = await browser.new_context()
    anonymous = await context.new_page()
    await anonymous.goto(f"{base_url}/console")
    await expect(anonymous.locator("#login")).to_be_visible()
    status = await anonymous.evaluate("async () => (await fetch('/api/shows')).status")
    assert status == 401


class CuttableProxy:
    """A TCP proxy in front of the server whose connections the test can cut, as a phone
    losing its network does."""

    def __init__(self, target: str) -> None:
        self.target_port = int(target.rsplit(":", 1)[1])
        self.down = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.down = True
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


async def test_a_viewer_who_loses_the_network_gets_what_was_missed(
    browser: Browser, base_url: str
) -> None:
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "drop-net", countdown_s=0)
    proxy = CuttableProxy(base_url)
    through_proxy = await proxy.start()
    try:
        viewer = await viewer_joins(browser, through_proxy, "drop-net", "Ann")
        errors = no_page_errors(viewer)
        async with aiohttp.ClientSession() as session:
            bea = await session.ws_connect(
                f"{base_url}/rooms/drop-net/live", params={"token": token("bea")}
            )
            await events_until(bea, of_type("snapshot"))
            assert (await ask(bea, "chat", text="before the tunnel"))["type"] == "chat_ack"
            await expect(viewer.locator("#messages")).to_contain_text("before the tunnel")

            proxy.cut()
            await expect(viewer.locator("#status")).not_to_have_text("live")
            await asyncio.sleep(1.0)  # Bea's own chat rate limit
            assert (await ask(bea, "chat", text="while you were away"))["type"] == "chat_ack"
            await host.fill("#announce-text", "Restock at nine!")
            await host.click("#announce button[type=submit]")
            await asyncio.sleep(0.5)
            proxy.down = False

            await expect(viewer.locator("#status")).to_have_text("live", timeout=15_000)
            await expect(viewer.locator("#messages")).to_contain_text("while you were away")
            await expect(viewer.locator("#announcement")).to_contain_text("Restock at nine!")
            # Resumed from its last offset: nothing twice.
            assert await viewer.locator("#messages li").count() == 2
            await bea.close()
        assert errors == []
    finally:
        await proxy.close()
