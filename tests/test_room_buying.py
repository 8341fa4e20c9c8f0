"""Live rooms over real Redis: offers launched to a room and bought over the socket."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from server.app import create_app
from server.appkeys import KEEPER
from server.room.settings import RoomSettings
from server.settings import Settings

from .helpers import viewer
from .room_helpers import (
    Client,
    Connect,
    ask,
    close_code,
    create_offer,
    events_until,
    host,
    of_type,
    open_now,
    token,
)

pytest_plugins = ["tests.room_fixtures"]


# ------------------------------------------------------------------ offers and buying


@pytest.mark.parametrize("buckets", [1, 2], ids=["one-bucket", "hot-offer-2-buckets"])
async def test_the_offer_countdown_stock_and_purchase_flow_over_the_socket(
    room_client: Client, connect: Connect, buckets: int
) -> None:
    """With 2 buckets, ivy's home bucket (1) holds one unit: her press for two fetches the
    other from bucket 0, and the room still sees the offer's stock as one."""
    buyer, watcher = await connect("ivy"), await connect("watcher")
    offer = await create_offer(
        room_client,
        stock=2,
        sku="LAMP",
        title="Lamp",
        unit_price=2500,
        per_user_limit=2,
        buckets=buckets,
    )
    opened = await host(
        room_client,
        f"/api/offers/{offer['id']}/open",
        {"countdown_seconds": 1, "window_seconds": 60},
    )
    [*_, announced] = await events_until(watcher, of_type("offer_announced"))
    assert announced["countdown_ends_at_ms"] == opened["opens_at_ms"]
    early = await ask(
        buyer, "reserve", offer_id=offer["id"], quantity=1, idempotency_key="press-00000001"
    )
    assert (early["status"], early["error"]["code"]) == (409, "not_open")
    await events_until(watcher, of_type("offer_open", offer_id=offer["id"]))

    reserved = await ask(
        buyer, "reserve", offer_id=offer["id"], quantity=2, idempotency_key="press-00000002"
    )
    assert (reserved["type"], reserved["status"], reserved["outcome"]) == (
        "reserve_result",
        201,
        "reserved",
    )
    again = await ask(
        buyer, "reserve", offer_id=offer["id"], quantity=2, idempotency_key="press-00000002"
    )
    assert again["replayed"] is True
    assert again["hold"]["hold_id"] == reserved["hold"]["hold_id"]
    assert reserved["hold"]["hold_id"].startswith(offer["id"] + (".1-" if buckets > 1 else "-"))
    await events_until(watcher, of_type("stock", offer_id=offer["id"], available=0, held=2))
    await events_until(watcher, of_type("sold_out", offer_id=offer["id"]))

    paid = await ask(buyer, "confirm", hold_id=reserved["hold"]["hold_id"], payment_ref="psp-ws-1")
    assert (paid["status"], paid["outcome"], paid["amount"]) == (200, "confirmed", 5000)
    [*_, news] = await events_until(buyer, of_type("purchase", status="confirmed"))
    assert news["order_id"] == paid["order_id"]
    # The purchase news is the buyer's alone.
    await host(room_client, "/api/rooms/show-1/announcements", {"text": "marker"})
    seen = await events_until(watcher, of_type("announcement", text="marker"))
    assert not [e for e in seen if e["type"] == "purchase"]


async def test_messages_sent_together_are_answered_in_order_each_as_its_sender(
    room_client: Client, connect: Connect
) -> None:
    """A phone in a rush sends presses without waiting for answers. Presses run alongside
    each other, but a message of another kind takes effect exactly where it was sent: the
    first press is ann's, the auth switches to bob, and the presses after it are bob's.
    Every answer comes back in the order of the messages, also past the number of messages
    a socket may have in flight."""
    offer = await create_offer(room_client, stock=100, per_user_limit=50)
    await open_now(room_client, offer["id"])
    ws = await connect("ann")

    def press(n: int, key: str) -> dict[str, Any]:
        return {
            "type": "reserve",
            "request_id": n,
            "offer_id": offer["id"],
            "quantity": 1,
            "idempotency_key": key,
        }

    messages: list[dict[str, Any] | str] = [
        press(0, "press-ann-0001"),
        {"type": "auth", "request_id": 1, "token": token("bob")},
        *(press(n, f"press-bob-{n:04d}") for n in range(2, 32)),
        {"type": "ping", "request_id": 32},
        "not json",
        press(34, "press-bob-0002"),
    ]
    for message in messages:
        await ws.send_str(message if isinstance(message, str) else orjson.dumps(message).decode())
    answers = await events_until(ws, lambda e: e.get("request_id") == 34)
    answers = [e for e in answers if "offset" not in e]

    assert [a.get("request_id") for a in answers] == [*range(33), None, 34]
    assert [a["type"] for a in answers] == [
        "reserve_result",
        "auth_ok",
        *["reserve_result"] * 30,
        "pong",
        "error",
        "reserve_result",
    ]
    assert answers[33]["code"] == "invalid_json"
    assert all(a["status"] == 201 for a in answers[2:32])
    assert (answers[34]["replayed"], answers[34]["hold"]) == (True, answers[2]["hold"])
    keeper = room_client.app[KEEPER]
    assert (await keeper.get_hold(answers[0]["hold"]["hold_id"], "ann")).quantity == 1
    for answer in answers[2:32]:
        assert (await keeper.get_hold(answer["hold"]["hold_id"], "bob")).quantity == 1
    offer_now = await keeper.get_offer(offer["id"])
    assert (offer_now.held, offer_now.available) == (31, 69)


async def test_an_expired_hold_is_told_to_its_buyer(
    aiohttp_client: Any, app_settings: Settings, room_settings: RoomSettings, redis: Any
) -> None:
    settings = dataclasses.replace(app_settings, room=room_settings, run_sweeper=True)
    client: Client = await aiohttp_client(create_app(settings))
    offer = await create_offer(client, stock=1, hold_seconds=1)
    await open_now(client, offer["id"])
    ws = await client.ws_connect("/rooms/show-1/live", params={"token": token("jack")})
    held = await ask(
        ws, "reserve", offer_id=offer["id"], quantity=1, idempotency_key="press-00000003"
    )
    seen = await events_until(ws, of_type("purchase", status="expired"), timeout_s=10)
    assert seen[-1]["hold_id"] == held["hold"]["hold_id"]
    back_in_stock = of_type("stock", offer_id=offer["id"], available=1)
    if not any(back_in_stock(e) for e in seen):
        await events_until(ws, back_in_stock)
    await ws.close()


@pytest.mark.parametrize("buckets", [1, 2], ids=["one-bucket", "hot-offer-2-buckets"])
async def test_a_viewer_the_host_banned_reserves_nothing_over_http_or_a_new_socket(
    room_client: Client, connect: Connect, buckets: int
) -> None:
    """The ban closes the viewer's socket; a socket opened after it is closed at once, and
    the HTTP API takes no unit either (403 ``banned``). Other viewers buy as before."""
    offer = await create_offer(room_client, stock=5, buckets=buckets)
    await open_now(room_client, offer["id"])
    await host(room_client, "/api/rooms/show-1/bans", {"user_id": "frank"})
    press = {"quantity": 1, "idempotency_key": "press-frank-0001"}
    url = f"/api/offers/{offer['id']}/reservations"
    refused = await room_client.post(url, json=press, headers=viewer("frank"))
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "banned"
    again = await room_client.ws_connect("/rooms/show-1/live", params={"token": token("frank")})
    assert await close_code(again) == 4003
    await again.close()
    bought = await room_client.post(url, json=press, headers=viewer("ann"))
    assert bought.status == 201
    now = await room_client.app[KEEPER].get_offer(offer["id"])
    assert (now.held, now.available) == (1, 4)
