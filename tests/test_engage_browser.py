"""Polls, questions and sales goals in a real browser (Debian's headless Chromium): the
host runs them from the console, a viewer on a phone votes, asks and watches the goal bar.
Screenshots: test-artifacts/screenshots/polls-*.png and goals-*.png."""

from __future__ import annotations

from playwright.async_api import Browser, Page, ViewportSize, expect

from .helpers import HOST_ID, HOST_PASSWORD
from .test_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    base_url,
    browser,
    host_creates_a_live_show,
    no_page_errors,
    viewer_joins,
)

DESKTOP = ViewportSize(width=1280, height=800)


async def host_on_desktop(browser: Browser, base_url: str) -> Page:  # noqa: F811
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(f"{base_url}/console")
    await page.fill("#login-host", HOST_ID)
    await page.fill("#login-password", HOST_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#home")).to_be_visible()
    return page


async def test_a_host_runs_a_poll_goals_and_questions_that_a_phone_viewer_takes_part_in(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    host = await host_on_desktop(browser, base_url)
    host_errors = no_page_errors(host)
    await host_creates_a_live_show(host, "engage-1", countdown_s=0)

    # Goals: 2 units sold unlocks an announcement (the console's first tier, edited).
    goals = host.locator("#goals-panel")
    await goals.locator("[name=threshold]").fill("2")
    await goals.locator("[name=text]").fill("2 sold: free gift wrap for everyone!")
    await goals.locator("button[type=submit]").click()
    await expect(goals.locator(".goal-tier")).to_contain_text("free gift wrap")

    # A poll with three answers, started at once.
    polls = host.locator("#polls-panel")
    await polls.locator("[name=question]").fill("Which colour should we drop next?")
    for i, answer in enumerate(["Red", "Blue", "Green"]):
        await polls.locator(f"[name=answer{i}]").fill(answer)
    await polls.locator("[name=window_seconds]").fill("300")
    await polls.locator("button[type=submit]").click()
    await expect(polls.locator(".poll-row")).to_contain_text("open")

    viewer = await viewer_joins(browser, base_url, "engage-1", "Ann")
    viewer_errors = no_page_errors(viewer)
    card = viewer.locator("#poll-1")
    await expect(card).to_contain_text("Which colour should we drop next?")
    await expect(card.locator(".poll-timer")).to_contain_text(":")
    await card.locator(".poll-answer[data-answer='1']").click()
    await expect(card.locator(".poll-mine")).to_contain_text("Blue")
    await expect(card.locator(".poll-votes")).to_have_text("1 vote")
    await expect(polls.locator(".poll-row")).to_contain_text("1 vote")

    # The goal bar, and a purchase moving it on.
    bar = viewer.locator("#goal-bar")
    await expect(bar).to_contain_text("Next goal: 2 sold: free gift wrap")
    await host.click("#offer-rows button:has-text('Launch')")
    await expect(viewer.locator("#buy")).to_be_enabled(timeout=10_000)
    await viewer.click("#buy")
    await viewer.click("#pay")
    await expect(bar.locator(".goal-figure")).to_have_text("1 sold / 2 sold", timeout=10_000)

    # A question from the chat, answered and pinned by the host.
    await viewer.fill("#chat-text", "Does it come in blue?")
    await viewer.click("#chat-form button[type=submit]")
    message = viewer.locator("#messages li", has_text="Does it come in blue?")
    await message.locator(".ask").click()
    await expect(message.locator(".ask")).to_have_text("Asked ✓")
    questions = host.locator("#questions-panel")
    await expect(questions.locator(".question-row")).to_contain_text("Does it come in blue?")
    await questions.locator("[name=answer]").fill("Yes, and in red from Friday.")
    await questions.locator("button[type=submit]").click()
    await expect(viewer.locator("#pinned-question")).to_contain_text("Yes, and in red from Friday.")

    await viewer.evaluate("window.scrollTo(0, 0)")
    await viewer.screenshot(path=SCREENSHOTS / "polls-phone.png")

    # A second buyer reaches the goal: the bar says so, and the announcement comes.
    other = await viewer_joins(browser, base_url, "engage-1", "Bob")
    await expect(other.locator("#buy")).to_be_enabled(timeout=10_000)
    await other.click("#buy")
    await other.click("#pay")
    await expect(bar).to_contain_text("Every goal reached!", timeout=10_000)
    await expect(bar.locator(".goal-done")).to_contain_text("free gift wrap")
    await expect(viewer.locator("#announcement")).to_contain_text("free gift wrap")
    await expect(goals.locator(".goal-reached")).to_contain_text("announcement: started")
    await viewer.evaluate("window.scrollTo(0, 0)")
    await viewer.screenshot(path=SCREENSHOTS / "goals-phone.png")
    await polls.scroll_into_view_if_needed()
    await host.screenshot(path=SCREENSHOTS / "polls-desktop.png")
    await goals.scroll_into_view_if_needed()
    await host.screenshot(path=SCREENSHOTS / "goals-desktop.png")
    assert host_errors == []
    assert viewer_errors == []
