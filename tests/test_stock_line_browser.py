"""The stock line of the viewer page falls with the buyer's own answer, in real Chromium
(phone and desktop). Screenshots: test-artifacts/screenshots/stock-line-*.png."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from .test_browser import (  # noqa: F401
    SCREENSHOTS,
    base_url,
    browser,
    host_creates_a_live_show,
    host_logs_in,
    no_page_errors,
    viewer_joins,
)

#: Holds back the room's stock events while ``window.holdStockEvents`` is true, as when the
#: room's paced stock event comes a moment after the buyer's answer.
HOLD_STOCK_EVENTS = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    set onmessage(handler) {
      super.onmessage = (message) => {
        if (!window.holdStockEvents) return handler(message);
        const frame = JSON.parse(message.data);
        frame.events = (frame.events || []).filter(
          (event) => event.type !== "stock" && event.type !== "sold_out");
        return handler({ data: JSON.stringify(frame) });
      };
    }
  };
})();
"""


async def buys(page: Page) -> None:
    await expect(page.locator("#buy")).to_be_enabled(timeout=10_000)
    await page.click("#buy")
    await expect(page.locator("#purchase-text")).to_contain_text("Reserved 1 \u00d7")


async def test_the_stock_line_falls_with_the_buyers_answer_then_follows_the_room(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "stock-line-1", countdown_s=0)
    ann = await viewer_joins(
        browser, base_url, "stock-line-1", "Ann", init_script=HOLD_STOCK_EVENTS
    )
    bob = await viewer_joins(
        browser, base_url, "stock-line-1", "Bob", desktop=True, init_script=HOLD_STOCK_EVENTS
    )
    ann_errors, bob_errors = no_page_errors(ann), no_page_errors(bob)
    await host.click("#offer-rows button:has-text('Launch')")
    for page in (ann, bob):
        await expect(page.locator("#stock-text")).to_have_text("5 of 5 left")

    # No stock event reaches Ann: her own answer moves her stock line.
    await ann.evaluate("window.holdStockEvents = true")
    await buys(ann)
    await expect(ann.locator("#stock-text")).to_have_text("4 of 5 left")
    await expect(ann.locator("#stock-bar")).to_have_attribute("style", "width: 80%;")
    await ann.wait_for_timeout(400)  # the bar's own transition, for the screenshot
    await ann.screenshot(path=SCREENSHOTS / "stock-line-phone.png")

    # Bob's press reaches Ann only as a stock event: once events flow again, her line
    # follows the room.
    await expect(bob.locator("#stock-text")).to_have_text("4 of 5 left")
    await ann.evaluate("window.holdStockEvents = false")
    await bob.evaluate("window.holdStockEvents = true")
    await buys(bob)
    await expect(bob.locator("#stock-text")).to_have_text("3 of 5 left")
    await expect(bob.locator("#stock-bar")).to_have_attribute("style", "width: 60%;")
    await bob.wait_for_timeout(400)
    await bob.screenshot(path=SCREENSHOTS / "stock-line-desktop.png")
    await expect(ann.locator("#stock-text")).to_have_text("3 of 5 left")
    assert ann_errors == []
    assert bob_errors == []
