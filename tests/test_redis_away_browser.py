"""A press and a payment made while Redis is out of reach, in real Chromium: the page sends
them again, as they were, until Redis is back, and the buyer gets one unit and one order.
The test's own Redis is stopped and started for real. Screenshots:
test-artifacts/screenshots/redis-away-*.png."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from deploy.stack import RedisServer
from server.app import create_app
from server.appkeys import KEEPER
from server.settings import Settings

from .helpers import HOST, sign_up_test_host_at
from .test_browser import SCREENSHOTS, browser, no_page_errors, viewer_joins  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture
async def server(app_settings: Settings, redis_server: RedisServer) -> AsyncIterator[TestServer]:
    await sign_up_test_host_at(redis_server.url)
    stock = dataclasses.replace(app_settings.stock, redis_url=redis_server.url)
    settings = dataclasses.replace(
        app_settings, stock=stock, demo_viewer_tokens=True, run_sweeper=False
    )
    test_server = TestServer(create_app(settings))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def a_live_show(base: str, room: str) -> str:
    """A live show whose one offer (5 units) is launched and pinned; the offer's id."""
    product = {
        "sku": "KETTLE", "title": "Enamel kettle", "unit_price": 2400, "currency": "EUR",
        "stock": 5, "per_user_limit": 1, "countdown_seconds": 0, "window_seconds": 600,
    }  # fmt: skip
    async with aiohttp.ClientSession(headers=HOST) as session:

        async def post(path: str, body: Any = None) -> Any:
            async with session.post(f"{base}{path}", json=body or {}) as resp:
                assert resp.status < 300, await resp.text()
                return await resp.json()

        body = {"room_id": room, "title": "Kitchen", "products": [product]}
        show = await post("/api/shows", body)
        offer_id: str = show["offers"][0]["id"]
        await post(f"/api/shows/{room}/live")
        await post(f"/api/shows/{room}/offers/{offer_id}/launch")
    return offer_id


async def redis_away_while(
    redis_server: RedisServer, page: Page, action: str, shown: str, screenshot: str
) -> None:
    """Stop Redis, do ``action`` on the page, see it wait and try again, start Redis."""
    await asyncio.to_thread(redis_server.stop)
    await page.click(action)
    await expect(page.locator("#purchase-text")).to_contain_text(shown)
    await page.screenshot(path=SCREENSHOTS / screenshot)
    await asyncio.to_thread(redis_server.start)


async def test_a_press_and_a_payment_while_redis_is_away_go_through_once_it_is_back(
    browser: Browser,  # noqa: F811
    server: TestServer,
    redis_server: RedisServer,
) -> None:
    base = str(server.make_url("")).rstrip("/")
    offer_id = await a_live_show(base, "kitchen-1")
    page = await viewer_joins(browser, base, "kitchen-1", "Ann")
    errors = no_page_errors(page)
    await expect(page.locator("#buy")).to_be_enabled(timeout=10_000)

    await redis_away_while(
        redis_server, page, "#buy", "The shop is busy — trying again…", "redis-away-press.png"
    )
    await expect(page.locator("#purchase-text")).to_contain_text(
        "Reserved 1 \u00d7", timeout=20_000
    )

    await redis_away_while(
        redis_server,
        page,
        "#pay",
        "The shop is busy — trying your payment again. Pay within",
        "redis-away-pay.png",
    )
    await expect(page.locator("#purchase-text")).to_contain_text("Paid! Your order", timeout=20_000)
    offer = await server.app[KEEPER].get_offer(offer_id)
    assert (offer.sold, offer.held, offer.available) == (1, 0, 4)
    assert errors == []
