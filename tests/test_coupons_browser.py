"""Coupons and red packets in real Chromium: the host drops coupons and makes it rain from
the console; a viewer on a phone claims, grabs, and pays with the coupon and the credit."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from .test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    base_url,
    browser,
    host_creates_a_live_show,
    host_logs_in,
    no_page_errors,
    viewer_joins,
)


async def test_a_viewer_claims_a_coupon_grabs_a_red_packet_and_pays_with_both(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    host = await host_logs_in(browser, base_url)
    host_errors = no_page_errors(host)
    await host_creates_a_live_show(host, "coupons-1", countdown_s=0)
    viewer = await viewer_joins(browser, base_url, "coupons-1", "Ann")
    viewer_errors = no_page_errors(viewer)

    panel = host.locator("#coupons-panel")
    await expect(panel).to_be_visible()
    await panel.locator("#drop-form button[type=submit]").click()
    await panel.locator("[data-action^=start-d]").click()
    card = viewer.locator(".coupon-drop")
    await expect(card).to_contain_text("off")
    await expect(card.locator(".coupon-timer")).to_contain_text(":")
    await card.locator(".coupon-tap").click()
    await expect(card).to_contain_text("Claimed!")
    await expect(viewer.locator("#wallet")).to_contain_text("until")

    await panel.locator("#rain-form [name=pool]").fill("300")
    await panel.locator("#rain-form [name=packets]").fill("1")
    await panel.locator("#rain-form button[type=submit]").click()
    await panel.locator("[data-action^=start-r]").click()
    rain = viewer.locator(".coupon-rain")
    await rain.locator(".coupon-tap").click()
    await expect(rain).to_contain_text("of credit!")
    await expect(viewer.locator("#wallet-credit")).to_contain_text("3.00")
    await viewer.screenshot(path=SCREENSHOTS / "coupons-phone.png")
    await expect(panel.locator(".coupon-figures").first).to_contain_text("1/100 claimed")
    await host.screenshot(path=SCREENSHOTS / "coupons-desktop.png", full_page=True)

    await host.click("#offer-rows button:has-text('Launch')")
    await expect(viewer.locator("#buy")).to_be_enabled(timeout=10_000)
    await viewer.click("#buy")
    await expect(viewer.locator("#purchase-text")).to_contain_text("Pay within")
    await viewer.click("#pay")
    await expect(viewer.locator("#purchase-text")).to_contain_text("Paid!")
    # 12.50 - 5.00 coupon - 3.00 credit: the wallet shows both spent.
    await expect(viewer.locator(".wallet-spent")).to_have_count(1)
    await expect(viewer.locator("#wallet-credit")).to_contain_text("0.00")
    await expect(panel.locator(".coupon-row").first).to_contain_text("1 used")
    await viewer.screenshot(path=SCREENSHOTS / "coupons-paid-phone.png")
    assert viewer_errors == []
    assert host_errors == []
