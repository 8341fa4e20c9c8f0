"""Group buying in real Chromium: the deal price struck through on the phone, the host
making an offer a group offer in the console, a viewer starting a group, a friend opening
the invitation link and joining, the group forming; and a group failing at its window's
end. Screenshots: test-artifacts/screenshots/groups-*.png."""

from __future__ import annotations

import aiohttp
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from .group_helpers import end_window_in
from .helpers import HOST
from .test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    base_url,
    browser,
    host_creates_a_live_show,
    host_logs_in,
    no_page_errors,
    viewer_joins,
)


async def live_offer(base: str, room: str) -> str:
    """A mug at 5 EUR (compare at 8 EUR) on sale now and pinned in ``room``; its id."""
    async with aiohttp.ClientSession(headers=HOST) as session:
        body = {
            "room_id": room,
            "sku": "MUG-DEAL",
            "title": "Deal mug",
            "unit_price": 500,
            "compare_at_price": 800,
            "currency": "EUR",
            "stock": 20,
        }
        async with session.post(f"{base}/api/offers", json=body) as resp:
            assert resp.status == 201, await resp.text()
            offer_id: str = (await resp.json())["id"]
        window = {"countdown_seconds": 0, "window_seconds": 600}
        async with session.post(f"{base}/api/offers/{offer_id}/open", json=window) as resp:
            assert resp.status == 200, await resp.text()
        pin = {"offer_id": offer_id}
        async with session.post(f"{base}/api/rooms/{room}/pinned-offer", json=pin) as resp:
            assert resp.status == 200, await resp.text()
    return offer_id


async def viewer_opens(chromium: Browser, url: str, nickname: str) -> Page:
    """A phone on ``url`` (an invitation link), signed in with ``nickname``."""
    context = await chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await page.goto(url)
    await expect(page.locator("#status")).to_have_text("live")
    await page.fill("#nickname", nickname)
    await page.click("#join button[type=submit]")
    await expect(page.locator("#chat-form")).to_be_visible()
    return page


async def test_a_group_starts_fills_by_invitation_and_forms(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    host = await host_logs_in(browser, base_url)
    host_errors = no_page_errors(host)
    await host_creates_a_live_show(host, "groups-1", countdown_s=0)
    offer_id = await live_offer(base_url, "groups-1")
    panel = host.locator("#groups-console")
    form = panel.locator(f".group-terms-form[data-offer='{offer_id}']")
    await expect(form).to_be_visible(timeout=10_000)
    await form.locator("[name=group_price]").fill("350")
    await form.locator("[name=group_size]").fill("3")
    await form.locator("[name=window_minutes]").fill("10")
    await form.locator("button[type=submit]").click()
    await expect(panel).to_contain_text("groups of 3")

    ann = await viewer_joins(browser, base_url, "groups-1", "Ann")
    ann_errors = no_page_errors(ann)
    await expect(ann.locator("#offer-was")).to_be_visible()
    await expect(ann.locator("#offer-saving")).to_contain_text("Save")
    groups = ann.locator("#groups")
    await expect(groups).to_contain_text("Team up: 3 people")
    await groups.locator(".group-start").click()
    focus = ann.locator("#group-focus")
    await expect(focus).to_contain_text("Ann's group")
    await expect(focus).to_contain_text("2 seats left")
    await expect(focus.locator(".group-timer")).to_contain_text(":")
    await focus.locator("#group-pay").click()
    await expect(groups).to_contain_text("order is placed when the group forms")
    link = await focus.locator(".group-link").inner_text()
    assert "?group=" in link
    await ann.screenshot(path=SCREENSHOTS / "groups-phone.png", full_page=True)

    bob = await viewer_opens(browser, link, "Bob")
    bob_errors = no_page_errors(bob)
    bob_focus = bob.locator("#group-focus")
    await expect(bob_focus).to_contain_text("Ann's group")
    await bob_focus.locator("#group-join").click()
    await expect(bob_focus).to_contain_text("1 seat left")
    await expect(focus).to_contain_text("1 seat left", timeout=5000)
    await expect(focus.locator(".member")).to_have_count(3)
    await bob.screenshot(path=SCREENSHOTS / "groups-invited-phone.png", full_page=True)

    # Another viewer sees the open group listed, with its members and seats left.
    dan = await viewer_joins(browser, base_url, "groups-1", "Dan")
    row = dan.locator("#groups .group-row").first
    await expect(row).to_contain_text("Ann's group · Ann, Bob")
    await expect(row).to_contain_text("1 seat left")
    await expect(row.locator("button")).to_have_text("Join")
    await dan.screenshot(path=SCREENSHOTS / "groups-open-list-phone.png", full_page=True)

    cat = await viewer_opens(browser, link, "Cat")
    await cat.locator("#group-focus #group-join").click()
    await expect(focus).to_contain_text("The group formed", timeout=5000)
    await expect(focus).to_have_attribute("data-state", "formed")
    await expect(dan.locator("#groups .group-row")).to_have_count(0)  # no seat left to list
    await ann.screenshot(path=SCREENSHOTS / "groups-formed-phone.png", full_page=True)
    await expect(panel.locator(f".group-counts[data-offer='{offer_id}']")).to_contain_text(
        "1 formed", timeout=5000
    )
    await host.screenshot(path=SCREENSHOTS / "groups-desktop.png", full_page=True)
    assert ann_errors == []
    assert bob_errors == []
    assert host_errors == []


async def test_a_group_that_does_not_fill_shows_failed_and_refunded(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
    redis: Redis,
) -> None:
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "groups-2", countdown_s=0)
    offer_id = await live_offer(base_url, "groups-2")
    async with aiohttp.ClientSession(headers=HOST) as session:
        terms = {"group_price": 350, "group_size": 3, "window_minutes": 1}
        async with session.post(f"{base_url}/api/offers/{offer_id}/group-terms", json=terms) as r:
            assert r.status == 200
    ann = await viewer_joins(browser, base_url, "groups-2", "Ann")
    errors = no_page_errors(ann)
    await ann.locator("#groups .group-start").click()
    focus = ann.locator("#group-focus")
    await expect(focus).to_contain_text("2 seats left")
    await focus.locator("#group-pay").click()
    link = await focus.locator(".group-link").inner_text()
    group_id = link.split("?group=")[1]
    await end_window_in(redis, offer_id, group_id)
    await expect(focus).to_have_attribute("data-state", "failed", timeout=10_000)
    await expect(focus).to_contain_text("every payment is refunded")
    await ann.screenshot(path=SCREENSHOTS / "groups-failed-phone.png", full_page=True)
    assert errors == []
