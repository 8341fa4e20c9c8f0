"""The shopping bag, the quantity stepper, the per-person limit and My orders in real
Chromium, phone first. Screenshots: test-artifacts/screenshots/bag-*.png, orders-*.png and
countdowns-*.png."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, ViewportSize, expect
from redis.asyncio import Redis

from server.app import create_app
from server.appkeys import KEEPER, ORDERS, ROOM_PUBLISHER
from server.orders.status import StatusUpdates
from server.settings import Settings
from stockkeeper.recorder import NoRecorder
from stockkeeper.status_reports import status_event

from .helpers import HOST
from .test_browser import SCREENSHOTS, browser, no_page_errors, viewer_joins  # noqa: F401

DESKTOP = ViewportSize(width=1280, height=800)


@pytest.fixture
async def server(app_settings: Settings, redis: Redis) -> AsyncIterator[TestServer]:
    settings = dataclasses.replace(app_settings, demo_viewer_tokens=True, run_sweeper=True)
    test_server = TestServer(create_app(settings))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def a_show_with_two_offers_on_sale(base: str, room: str) -> list[str]:
    """A live show: a mug (2 per person, launched and pinned) and a lamp at a deal price
    (1 per person, open); their ids."""
    products = [
        {"sku": "MUG", "title": "Stoneware mug", "unit_price": 1250, "currency": "EUR",
         "stock": 10, "per_user_limit": 2, "countdown_seconds": 0, "window_seconds": 600},
        {"sku": "LAMP", "title": "Desk lamp", "unit_price": 3900, "compare_at_price": 5900,
         "currency": "EUR", "stock": 4, "per_user_limit": 1},
    ]  # fmt: skip
    async with aiohttp.ClientSession(headers=HOST) as session:

        async def post(path: str, body: Any = None) -> Any:
            async with session.post(f"{base}{path}", json=body or {}) as resp:
                assert resp.status < 300, await resp.text()
                return await resp.json()

        show = await post(
            "/api/shows", {"room_id": room, "title": "Home goods", "products": products}
        )
        mug, lamp = (offer["id"] for offer in show["offers"])
        await post(f"/api/shows/{room}/live")
        await post(f"/api/shows/{room}/offers/{mug}/launch")
        await post(f"/api/offers/{lamp}/open", {"countdown_seconds": 0, "window_seconds": 600})
    return [mug, lamp]


async def pay_on_the_card(page: Page, reserved: str) -> None:
    await expect(page.locator("#purchase-text")).to_contain_text(reserved)
    await page.click("#pay")
    await expect(page.locator("#purchase-text")).to_contain_text("Paid! Your order")


async def test_a_viewer_buys_from_the_bag_with_a_quantity_up_to_the_limit_and_tracks_orders(
    browser: Browser,  # noqa: F811
    server: TestServer,
) -> None:
    base = str(server.make_url("")).rstrip("/")
    mug, lamp = await a_show_with_two_offers_on_sale(base, "bag-1")
    page = await viewer_joins(browser, base, "bag-1", "Ann")
    errors = no_page_errors(page)

    # The bag lists both offers; the pinned mug is on the card too.
    bag = page.locator("#bag")
    await expect(bag.locator(".bag-item")).to_have_count(2)
    mug_row, lamp_row = bag.locator(f"[data-offer='{mug}']"), bag.locator(f"[data-offer='{lamp}']")
    await expect(mug_row.locator(".bag-badge")).to_be_visible()
    await expect(mug_row.locator(".bag-state")).to_contain_text("On sale")
    await expect(lamp_row.locator("s")).to_have_text("€59.00")
    await expect(lamp_row.locator(".now")).to_have_text("€39.00")
    await expect(page.locator("#offer-title")).to_have_text("Stoneware mug")

    # The card's stepper goes up to the limit (2): Buy 2, pay, and Buy stays off.
    await expect(page.locator("#qty")).to_be_visible()
    await page.click("#qty-more")
    await expect(page.locator("#qty-value")).to_have_text("2")
    await expect(page.locator("#qty-more")).to_be_disabled()
    await expect(page.locator("#buy")).to_have_text("Buy 2 now")
    await page.screenshot(path=SCREENSHOTS / "bag-phone.png", full_page=True)
    await page.click("#buy")
    await pay_on_the_card(page, "Reserved 2 \u00d7 Stoneware mug")
    await expect(page.locator("#buy")).to_be_disabled()
    await expect(page.locator("#buy")).to_have_text("Limit reached · 2 per person")
    await expect(page.locator("#qty")).to_be_hidden()

    # Tapping the lamp in the bag buys it too; then its Buy says the limit is reached.
    await lamp_row.locator(".bag-row").click()
    await expect(lamp_row.locator(".bag-buy .stepper")).to_be_hidden()  # one per person
    await lamp_row.locator(".bag-buy .buy").click()
    await pay_on_the_card(page, "Reserved 1 \u00d7 Desk lamp")
    await expect(lamp_row.locator(".bag-buy .buy")).to_have_text("Limit reached")
    await expect(lamp_row.locator(".bag-buy .buy")).to_be_disabled()

    # My orders: both paid; fulfilment ships the lamp and the page hears it.
    orders = page.locator("#my-orders")
    await orders.locator("summary").click()
    await expect(orders.locator(".order-item")).to_have_count(2)
    await expect(orders.locator(".order-state")).to_have_text(["paid", "paid"])
    lamp_order = await orders.locator(".order-item").first.get_attribute("data-order")
    assert lamp_order is not None
    updates = StatusUpdates(server.app[ORDERS].scripts, server.app[ROOM_PUBLISHER])
    shipped = status_event(lamp_order, "shipped", "DHL", "JD0146")
    assert (await updates.handle(orjson.dumps(shipped))).outcome == "applied"
    await expect(page.locator("#announcement")).to_contain_text("Desk lamp has shipped")
    first = orders.locator(".order-item").first
    await expect(first.locator(".order-state")).to_have_text("shipped")
    await expect(first).to_contain_text("Tracking number JD0146")
    await expect(first).to_contain_text("Carrier DHL")
    await orders.scroll_into_view_if_needed()
    await page.screenshot(path=SCREENSHOTS / "orders-phone.png", full_page=True)
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=SCREENSHOTS / "bag-desktop.png", full_page=True)
    assert errors == []


async def test_a_reload_keeps_the_limit_reached(
    browser: Browser,  # noqa: F811
    server: TestServer,
) -> None:
    """Guards the page forgetting what was bought: after a reload the server tells it the
    units the viewer already has, and Buy stays off."""
    base = str(server.make_url("")).rstrip("/")
    mug, _ = await a_show_with_two_offers_on_sale(base, "bag-2")
    page = await viewer_joins(browser, base, "bag-2", "Bo")
    await page.click("#qty-more")
    await page.click("#buy")
    await expect(page.locator("#purchase-text")).to_contain_text("Reserved 2 \u00d7")
    await page.reload()
    await expect(page.locator("#status")).to_have_text("live")
    await expect(page.locator("#buy")).to_have_text("Limit reached · 2 per person")
    await expect(page.locator("#buy")).to_be_disabled()
    await page.locator(f"#bag [data-offer='{mug}'] .bag-row").click()
    await expect(page.locator(f"#bag [data-offer='{mug}'] .bag-note")).to_contain_text(
        "the most one person may buy (2)"
    )


#: Reads, in one go, what each countdown of the page shows now: the offer card's and the
#: bag row's "ends in", the card's and My orders' "Pay within".
_COUNTDOWNS = """(mug) => {
  const endsIn = (text) => (text.match(/ends in (\\S+)/) || [])[1];
  const payWithin = (text) => (text.match(/Pay within (\\d+:\\d+)/) || [])[1];
  const orders = [...document.querySelectorAll('#my-orders .order-item')];
  return {
    card: endsIn(document.querySelector('#offer-state').textContent),
    bag: endsIn(document.querySelector(`#bag [data-offer='${mug}'] .bag-state`).textContent),
    cardPay: payWithin(document.querySelector('#purchase-text').textContent),
    ordersPay: orders.map((o) => payWithin(o.textContent)).find(Boolean),
  };
}"""


async def test_every_countdown_of_the_page_shows_the_same_second(
    browser: Browser,  # noqa: F811
    server: TestServer,
) -> None:
    """Guards the bag saying "ends in 10:00" while the offer card says "9:59", and My orders'
    "Pay within" trailing the card's: each countdown used to redraw on a timer of its own."""
    base = str(server.make_url("")).rstrip("/")
    mug, _ = await a_show_with_two_offers_on_sale(base, "bag-3")
    page = await viewer_joins(browser, base, "bag-3", "Cy")
    errors = no_page_errors(page)
    await page.click("#buy")
    await expect(page.locator("#purchase-text")).to_contain_text("Pay within")
    orders = page.locator("#my-orders")
    await orders.locator("summary").click()
    await expect(orders.locator(".order-item")).to_contain_text("Pay within")
    # 40 readings over 6 s: each second boundary passes with the readings in between.
    for _ in range(40):
        shown = await page.evaluate(_COUNTDOWNS, mug)
        assert shown["card"] is not None, shown
        assert shown["cardPay"] is not None, shown
        assert shown["card"] == shown["bag"], shown
        assert shown["cardPay"] == shown["ordersPay"], shown
        await page.wait_for_timeout(150)
    await page.screenshot(path=SCREENSHOTS / "countdowns-phone.png", full_page=True)
    await page.set_viewport_size(DESKTOP)
    shown = await page.evaluate(_COUNTDOWNS, mug)
    assert shown["card"] == shown["bag"], shown
    await page.screenshot(path=SCREENSHOTS / "countdowns-desktop.png", full_page=True)
    assert errors == []


async def test_my_orders_lists_the_hold_just_made_while_its_record_is_on_the_way(
    browser: Browser,  # noqa: F811
    server: TestServer,
) -> None:
    """Guards My orders missing the hold the viewer was just answered when the page's read
    reaches another server process than the press (`serve --workers 2`): here the record is
    held back (as that process's would be), and the page names the hold in its read."""
    base = str(server.make_url("")).rstrip("/")
    await a_show_with_two_offers_on_sale(base, "bag-4")
    page = await viewer_joins(browser, base, "bag-4", "Dee")
    errors = no_page_errors(page)
    orders = page.locator("#my-orders")
    await orders.locator("summary").click()
    await expect(orders.locator(".order-line").first).to_contain_text("Nothing yet")
    keeper = server.app[KEEPER]
    keeper.recorder = NoRecorder()  # the answering process's record: still on its way

    async with page.expect_request(lambda r: "/api/me/orders?hold=" in r.url) as named:
        await page.click("#buy")
    hold_id = (await named.value).url.split("hold=")[1]

    # Listed at once, by the named read alone: this process never writes the record.
    await expect(orders.locator(".order-item")).to_have_count(1, timeout=3000)
    await expect(orders.locator(".order-item")).to_have_attribute("data-order", hold_id)
    await expect(orders.locator(".order-state")).to_have_text("to pay")
    await expect(orders.locator(".order-item")).to_contain_text("Stoneware mug")
    await page.screenshot(path=SCREENSHOTS / "orders-just-made-phone.png", full_page=True)
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=SCREENSHOTS / "orders-just-made-desktop.png", full_page=True)
    assert errors == []
