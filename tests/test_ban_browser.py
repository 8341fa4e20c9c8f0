"""A viewer the host bans, in a real browser (Debian's headless Chromium): the page says so
and stops, and a reload does not bring them back into the room. Screenshots:
test-artifacts/screenshots/ban-*.png."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from .test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    SCREENSHOTS,
    base_url,
    browser,
    host_creates_a_live_show,
    host_logs_in,
    no_page_errors,
    viewer_joins,
)

REMOVED = "The host removed you from this room."


async def test_a_banned_viewer_is_removed_and_a_reload_does_not_bring_them_back(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "ban-1", countdown_s=0)
    frank = await viewer_joins(browser, base_url, "ban-1", "Frank")
    ann = await viewer_joins(browser, base_url, "ban-1", "Ann")
    errors = no_page_errors(frank)

    await frank.fill("#chat-text", "buy elsewhere, cheaper!")
    await frank.click("#chat-form button[type=submit]")
    line = host.locator("#host-chat li", has_text="buy elsewhere").last
    await line.locator("button:has-text('ban')").click()

    await expect(frank.locator("#status")).to_have_text("removed")
    await expect(frank.locator("#chat-error")).to_have_text(REMOVED)
    await expect(frank.locator("#chat-form")).to_be_hidden()
    await frank.screenshot(path=SCREENSHOTS / "ban-removed-phone.png")

    # Reloaded (the page keeps the viewer's sign-in): removed again at once, no chat form.
    await frank.reload()
    await expect(frank.locator("#status")).to_have_text("removed")
    await expect(frank.locator("#chat-error")).to_have_text(REMOVED)
    await expect(frank.locator("#chat-form")).to_be_hidden()
    await frank.screenshot(path=SCREENSHOTS / "ban-reloaded-phone.png")
    await frank.set_viewport_size(DESKTOP)
    await frank.reload()
    await expect(frank.locator("#status")).to_have_text("removed")
    await expect(frank.locator("#chat-form")).to_be_hidden()
    await frank.screenshot(path=SCREENSHOTS / "ban-reloaded-desktop.png")

    # Everyone else chats on.
    await ann.fill("#chat-text", "still here")
    await ann.click("#chat-form button[type=submit]")
    await expect(host.locator("#host-chat li", has_text="still here")).to_have_count(1)
    assert errors == []
