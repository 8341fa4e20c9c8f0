"""Giveaways in real Chromium: the host starts one from the console, a viewer on a phone
enters with one tap (and another by posting the keyword), wins, and claims the prize with
the shipping form, then finds it in My orders; the host sees the entry, the winner and the
claim."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from .giveaway_helpers import end_window
from .test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    base_url,
    browser,
    host_creates_a_live_show,
    host_logs_in,
    no_page_errors,
    viewer_joins,
)


async def test_a_viewer_enters_wins_and_claims_a_giveaway(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
    redis: Redis,
) -> None:
    host = await host_logs_in(browser, base_url)
    host_errors = no_page_errors(host)
    await host_creates_a_live_show(host, "gifts-1", countdown_s=0)
    viewer = await viewer_joins(browser, base_url, "gifts-1", "Ann")
    viewer_errors = no_page_errors(viewer)

    panel = host.locator("#giveaways-panel")
    await expect(panel).to_be_visible()
    await panel.locator("[name=title]").fill("Golden sneakers")
    await panel.locator("[name=window_seconds]").fill("600")
    await panel.locator("#giveaway-form button[type=submit]").click()
    card = viewer.locator(".giveaway-card").first
    await expect(card).to_contain_text("Golden sneakers")
    await expect(card.locator(".giveaway-timer")).to_contain_text(":")
    await expect(card).to_contain_text("Draw commitment")
    await card.locator(".giveaway-tap").click()
    await expect(card.locator(".giveaway-tap")).to_have_text("You're in ✓")
    await expect(card.locator(".giveaway-count")).to_have_text("1 entry", timeout=5000)
    await viewer.screenshot(path=SCREENSHOTS / "giveaways-phone.png")
    row = panel.locator(".giveaway-row").first
    await expect(row.locator(".giveaway-entries")).to_have_text("1 entry", timeout=5000)
    await host.screenshot(path=SCREENSHOTS / "giveaways-desktop.png", full_page=True)

    # A keyword giveaway: the card's button posts the keyword in the chat.
    await panel.locator("[name=title]").fill("Tote bag")
    await panel.locator("[name=rule]").select_option("keyword")
    await panel.locator("[name=keyword]").fill("tote please")
    await panel.locator("#giveaway-form button[type=submit]").click()
    tote = viewer.locator(".giveaway-card", has_text="Tote bag")
    await expect(tote.locator(".giveaway-tap")).to_have_text("Send “tote please”")
    await tote.locator(".giveaway-tap").click()
    await expect(tote.locator(".giveaway-tap")).to_have_text("You're in ✓")

    giveaway_id = await card.locator(".giveaway-tap").get_attribute("data-giveaway")
    assert giveaway_id
    await end_window(redis, giveaway_id)
    won = viewer.locator(f"#won-{giveaway_id}")
    await expect(won.locator(".giveaway-title")).to_have_text(
        "You wonGolden sneakers", timeout=10_000
    )
    form = won.locator("form")
    for name, value in [
        ("name", "Ann Example"),
        ("address", "1 Main Street"),
        ("city", "Lyon"),
        ("postal_code", "69001"),
        ("country", "fr"),
        ("phone", "+33 4 00 00 00 00"),
    ]:
        await form.locator(f"[name={name}]").fill(value)
    await viewer.screenshot(path=SCREENSHOTS / "giveaways-won-phone.png")
    await form.locator("button[type=submit]").click()
    await expect(won).to_contain_text("Claimed!")
    await expect(won).to_contain_text(f"giveaway-{giveaway_id}-")
    await viewer.screenshot(path=SCREENSHOTS / "giveaways-claimed-phone.png")
    # The prize is in My orders beside any purchase, won and free.
    orders = viewer.locator("#my-orders")
    await orders.locator("summary").click()
    prize = orders.locator(".order-item[data-kind=prize]")
    await expect(prize.locator(".order-title")).to_have_text("Golden sneakers")
    await expect(prize.locator(".order-state")).to_have_text("won")
    await expect(prize).to_contain_text("Giveaway prize · free")
    await expect(prize).to_contain_text(f"Order giveaway-{giveaway_id}-")
    await prize.scroll_into_view_if_needed()
    await viewer.screenshot(path=SCREENSHOTS / "orders-prize-phone.png")
    await viewer.set_viewport_size({"width": 1280, "height": 800})
    await prize.scroll_into_view_if_needed()
    await viewer.screenshot(path=SCREENSHOTS / "orders-prize-desktop.png")
    drawn_row = host.locator(f"#giveaway-row-{giveaway_id}")
    await expect(drawn_row).to_contain_text("Ann", timeout=10_000)
    await expect(drawn_row).to_contain_text("✓ claimed", timeout=10_000)
    await expect(drawn_row.locator("a", has_text="draw record")).to_be_visible()
    await host.screenshot(path=SCREENSHOTS / "giveaways-drawn-desktop.png", full_page=True)
    assert viewer_errors == []
    assert host_errors == []
