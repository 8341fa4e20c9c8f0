"""The pages' room socket (server/web/static/common.js) passes each room event on once, in a
real browser: a frame that arrives twice, as after a reconnect storm, shows once."""

from __future__ import annotations

import aiohttp
from playwright.async_api import Browser, WebSocketRoute, expect

from .room_helpers import ask, events_until, of_type, token
from .test_browser import (  # noqa: F401 (fixtures)
    PHONE,
    base_url,
    browser,
    host_creates_a_live_show,
    host_logs_in,
    no_page_errors,
)

HANDLED = """async (events) => {
  const { RoomSocket } = await import("/static/common.js");
  const handled = [];
  const onEvent = (e) => handled.push(e.type + " " + (e.offset ?? ""));
  const socket = new RoomSocket("any", { onEvent });
  for (const event of events) socket._handle(event);
  return { handled, lastOffset: socket.lastOffset };
}"""


async def test_the_room_socket_drops_an_offset_it_has_passed_comparing_offsets_as_numbers(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    """Guards against chat lines shown twice after a reconnect storm: the page showed an
    event again when a socket delivered it twice. "5-10" comes after "5-9" (as strings it
    would not); a chat_ack's offset is its message's, still to come; a snapshot always
    counts."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{base_url}/")
    result = await page.evaluate(
        HANDLED,
        [
            {"type": "hello", "server_time_ms": 1},
            {"type": "snapshot", "offset": "1700000000005-9"},
            {"type": "chat", "offset": "1700000000005-9"},
            {"type": "chat", "offset": "1700000000005-10"},
            {"type": "chat_ack", "offset": "1700000000006-0", "request_id": "r1"},
            {"type": "announcement", "offset": "1700000000005-10"},
            {"type": "chat", "offset": "1700000000004-99"},
            {"type": "chat", "offset": "1700000000006-0"},
            {"type": "pong"},
            {"type": "snapshot", "offset": "1600000000000-0"},
            {"type": "chat", "offset": "1600000000000-1"},
        ],
    )
    assert result["handled"] == [
        "hello ",
        "snapshot 1700000000005-9",
        "chat 1700000000005-10",
        "chat_ack 1700000000006-0",
        "chat 1700000000006-0",
        "pong ",
        "snapshot 1600000000000-0",
        "chat 1600000000000-1",
    ]
    assert result["lastOffset"] == "1600000000000-1"


async def test_a_viewer_page_receiving_every_frame_twice_shows_each_message_once(
    browser: Browser,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    """Every frame from the server reaches the page twice (the worst a resume could do):
    each chat line, the viewer's own included, still shows once."""
    host = await host_logs_in(browser, base_url)
    await host_creates_a_live_show(host, "twice-1", countdown_s=0)

    def twice(ws: WebSocketRoute) -> None:
        def send_twice(message: str | bytes) -> None:
            ws.send(message)
            ws.send(message)

        ws.connect_to_server().on_message(send_twice)

    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    await context.route_web_socket("**/rooms/**", twice)
    viewer = await context.new_page()
    errors = no_page_errors(viewer)
    await viewer.goto(f"{base_url}/watch/twice-1")
    await expect(viewer.locator("#status")).to_have_text("live")
    await viewer.fill("#nickname", "Ann")
    await viewer.click("#join button[type=submit]")
    await expect(viewer.locator("#chat-form")).to_be_visible()

    async with aiohttp.ClientSession() as session:
        bea = await session.ws_connect(
            f"{base_url}/rooms/twice-1/live", params={"token": token("bea")}
        )
        await events_until(bea, of_type("snapshot"))
        assert (await ask(bea, "chat", text="hers"))["type"] == "chat_ack"
        await viewer.fill("#chat-text", "mine")
        await viewer.click("#chat-form button[type=submit]")
        await expect(viewer.locator("#messages")).to_contain_text("mine")
        await host.fill("#announce-text", "the end")
        await host.click("#announce button[type=submit]")
        await expect(viewer.locator("#announcement")).to_contain_text("the end")
        await bea.close()
    await expect(viewer.locator("#messages li .text")).to_have_text(["hers", "mine"])
    assert errors == []
