"""Rooms seen by a hostile viewer: the worker id tells nothing of the machine, and no text
can be turned around with bidirectional controls."""

from __future__ import annotations

import os
import re
import socket

from redis.asyncio import Redis

from server.hosts.accounts import HostAccounts
from server.plain_text import without_bidi_controls, without_bidi_controls_in
from server.tokens import mint_viewer_token

from .helpers import VIEWER_SECRET
from .room_helpers import Client, Connect, ask, create_offer, events_until, host, of_type

pytest_plugins = ["tests.room_fixtures"]

#: RIGHT-TO-LEFT OVERRIDE: what follows it is drawn reversed ("gpj.exe" reads "exe.jpg").
RLO = "\u202e"


async def test_hello_names_the_worker_by_an_opaque_id(room_client: Client) -> None:
    """Guards against hello's ``server`` giving viewers the host name and process id."""
    ws = await room_client.ws_connect("/rooms/show-1/live")
    [hello] = await events_until(ws, of_type("hello"))
    await ws.close()
    assert re.fullmatch(r"[0-9a-f]{8}", hello["server"])
    assert socket.gethostname() not in hello["server"]
    assert str(os.getpid()) not in hello["server"]


def test_every_bidirectional_control_is_removed() -> None:
    controls = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert without_bidi_controls(f"a{controls}b") == "ab"
    # Right-to-left scripts need no controls and are kept as they are.
    assert without_bidi_controls("שלום مرحبا") == "שלום مرحبا"
    assert without_bidi_controls_in({"offer": {"title": f"{RLO}mug", "stock": 3}}) == {
        "offer": {"title": "mug", "stock": 3}
    }


async def test_chat_text_and_names_lose_their_bidirectional_controls(
    room_client: Client, connect: Connect
) -> None:
    """Guards against a chat line or a viewer's name shown reversed by a U+202E."""
    watcher = await connect()
    name = mint_viewer_token(VIEWER_SECRET, "eve", f"Eve{RLO}nimdA")
    eve = await room_client.ws_connect("/rooms/show-1/live", params={"token": name})
    await events_until(eve, of_type("snapshot"))
    assert (await ask(eve, "chat", text=f"photo{RLO}gpj.exe"))["type"] == "chat_ack"
    [*_, chat] = await events_until(watcher, of_type("chat"))
    assert (chat["name"], chat["text"]) == ("EvenimdA", "photogpj.exe")
    # Nothing but controls is an empty message.
    assert (await ask(eve, "chat", text=f"{RLO}\u2066 ")).get("code") == "invalid_chat"
    await eve.close()


async def test_a_control_inside_a_blocked_word_does_not_slip_it_past_the_filter(
    room_client: Client, connect: Connect
) -> None:
    await host(room_client, "/api/rooms/show-1/blocked-words", {"words": ["scam"]}, "PUT")
    ws = await connect("ann")
    assert (await ask(ws, "chat", text=f"total sc{RLO}am"))["code"] == "blocked_word"


async def test_announcements_pins_and_titles_reach_viewers_without_controls(
    room_client: Client, connect: Connect
) -> None:
    ws = await connect()
    await host(room_client, "/api/rooms/show-1/announcements", {"text": f"Sale{RLO} at 9"})
    await events_until(ws, of_type("announcement", text="Sale at 9"))
    await host(
        room_client,
        "/api/rooms/show-1/announcements",
        {"text": f"Free{RLO} shipping", "pinned": True},
    )
    await events_until(ws, of_type("pinned_message", pinned_message="Free shipping"))
    later = await room_client.ws_connect("/rooms/show-1/live")
    [*_, snapshot] = await events_until(later, of_type("snapshot"))
    assert snapshot["pinned_message"] == "Free shipping"
    await later.close()
    offer = await create_offer(room_client, stock=2, title=f"Mug{RLO} gpj")
    await host(
        room_client,
        f"/api/offers/{offer['id']}/open",
        {"countdown_seconds": 0, "window_seconds": 60},
    )
    [*_, news] = await events_until(ws, of_type("offer_announced"))
    assert news["offer"]["title"] == "Mug gpj"


async def test_host_display_names_lose_their_bidirectional_controls(redis: Redis) -> None:
    accounts = HostAccounts(redis)
    await accounts.create("mallory", "a long enough password", f"Mallory{RLO}s Shop")
    host_account = await accounts.get("mallory")
    assert host_account is not None
    assert host_account.display_name == "Mallorys Shop"
