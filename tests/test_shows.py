"""Shows: line-up, go live, launch, the live dashboard, the end and its report; pages."""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.app import create_app
from server.room.keys import RoomKeys
from server.settings import Settings
from server.tokens import verify_viewer_token

from .conftest import AiohttpClient
from .helpers import HOST, VIEWER_SECRET, viewer, wait_for
from .room_helpers import ask, events_until, of_type
from .test_hosts import other_host
from .test_http_api import error_code

Client = TestClient[web.Request, web.Application]

PRODUCT = {
    "sku": "MUG-1",
    "title": '=HYPERLINK("x") mug',
    "unit_price": 1500,
    "currency": "EUR",
    "stock": 10,
    "per_user_limit": 2,
    "hold_seconds": 300,
    "countdown_seconds": 0,
    "window_seconds": 600,
    "image_url": "https://images.example/mug.jpg",
}


async def create_show(client: Client, room_id: str = "show-a", **product: Any) -> dict[str, Any]:
    body = {"room_id": room_id, "title": "Spring sale", "products": [{**PRODUCT, **product}]}
    resp = await client.post("/api/shows", json=body, headers=HOST)
    assert resp.status == 201, await resp.text()
    show: dict[str, Any] = await resp.json()
    return show


async def dashboard(client: Client, room_id: str = "show-a") -> dict[str, Any]:
    resp = await client.get(f"/api/shows/{room_id}", headers=HOST)
    assert resp.status == 200, await resp.text()
    figures: dict[str, Any] = await resp.json()
    return figures


async def buy(client: Client, offer_id: str, user: str, key: str, pay: bool) -> None:
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        json={"idempotency_key": key},
        headers=viewer(user),
    )
    assert resp.status == 201, await resp.text()
    if pay:
        hold_id = (await resp.json())["hold"]["hold_id"]
        resp = await client.post(
            f"/api/holds/{hold_id}/confirm",
            json={"payment_ref": f"pay-{key}"},
            headers=viewer(user),
        )
        assert resp.status == 200


async def test_a_show_is_created_with_its_line_up(client: Client) -> None:
    show = await create_show(client)
    assert show["status"] == "draft"
    assert show["watch_url"] == "/watch/show-a"
    [offer] = show["offers"]
    assert (offer["room_id"], offer["state"], offer["image_url"]) == (
        "show-a",
        "draft",
        PRODUCT["image_url"],
    )
    shows = (await (await client.get("/api/shows", headers=HOST)).json())["shows"]
    assert [s["room_id"] for s in shows] == ["show-a"]
    public = await (await client.get("/api/rooms/show-a")).json()
    assert public == {
        "room_id": "show-a",
        "title": "Spring sale",
        "status": "draft",
        "starts_at_ms": 0,
        "cover_url": "",
        "description": "",
        "stream_url": "",
        "replay_url": "",
    }


async def test_a_bad_product_names_the_product_and_creates_nothing(client: Client) -> None:
    body = {
        "room_id": "show-b",
        "title": "Show",
        "products": [PRODUCT, {**PRODUCT, "stock": 0}],
    }
    resp = await client.post("/api/shows", json=body, headers=HOST)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert (error["code"], error["product"], error["field"]) == ("out_of_range", 1, "stock")
    assert error["message"].startswith("Product 2:")
    resp = await client.get("/api/shows/show-b", headers=HOST)
    assert resp.status == 404


async def test_a_room_has_one_show(client: Client) -> None:
    await create_show(client)
    resp = await client.post(
        "/api/shows", json={"room_id": "show-a", "title": "Again"}, headers=HOST
    )
    assert resp.status == 409
    assert await error_code(resp) == "show_exists"


async def test_launching_needs_a_live_show_then_counts_down_and_pins(client: Client) -> None:
    show = await create_show(client, countdown_seconds=30)
    offer_id = show["offers"][0]["id"]
    launch = f"/api/shows/show-a/offers/{offer_id}/launch"
    resp = await client.post(launch, headers=HOST)
    assert resp.status == 409
    assert await error_code(resp) == "show_not_live"
    assert (await (await client.post("/api/shows/show-a/live", headers=HOST)).json())[
        "status"
    ] == "live"
    ws = await client.ws_connect("/rooms/show-a/live")
    await events_until(ws, of_type("snapshot"))
    resp = await client.post(launch, headers=HOST)
    offer = await resp.json()
    assert offer["state"] == "scheduled"  # launched, counting down
    assert offer["opens_at_ms"] - offer["created_at_ms"] >= 29_000
    assert offer["closes_at_ms"] - offer["opens_at_ms"] == 600_000
    announced = (await events_until(ws, of_type("offer_announced")))[-1]
    assert announced["countdown_ends_at_ms"] == offer["opens_at_ms"]
    pinned = (await events_until(ws, of_type("pinned_offer")))[-1]
    assert pinned["pinned_offer_id"] == offer_id
    await ws.close()


@pytest.mark.parametrize("buckets", [1, 4], ids=["one-bucket", "hot-offer-4-buckets"])
async def test_the_dashboard_counts_viewers_chat_reservations_orders_and_gmv(
    client: Client, buckets: int
) -> None:
    show = await create_show(client, buckets=buckets)
    offer_id = show["offers"][0]["id"]
    await client.post("/api/shows/show-a/live", headers=HOST)
    await client.post(f"/api/shows/show-a/offers/{offer_id}/launch", headers=HOST)
    ws = await client.ws_connect(
        "/rooms/show-a/live",
        params={"token": verify_token_for("chatty")},
    )
    await events_until(ws, of_type("snapshot"))
    assert (await ask(ws, "chat", text="hello!"))["type"] == "chat_ack"
    await buy(client, offer_id, "alice", "press-alice-1", pay=True)
    await buy(client, offer_id, "alice", "press-alice-2", pay=True)
    await buy(client, offer_id, "bob", "press-bob-0001", pay=False)

    async def one_viewer_counted() -> bool:
        figures = await dashboard(client)
        return bool(figures["viewers"] == 1)

    await wait_for(one_viewer_counted, what="the viewer to be counted")
    figures = await dashboard(client)
    assert figures["viewers_peak"] == 1
    assert figures["chat_messages"] == 1
    assert figures["chat_per_minute"] >= 1
    assert (figures["reservations"], figures["orders"], figures["units_sold"]) == (3, 2, 2)
    assert figures["holds_pending"] == 1
    assert figures["gmv"] == {"EUR": 3000}
    assert figures["buyers"] == 1
    # Over distinct viewers: chatty watched and chatted, alice bought (server/audience/rates.py).
    assert (figures["distinct_viewers"], figures["chatters"]) == (2, 1)
    assert (figures["conversion"], figures["interaction_rate"]) == (0.5, 0.5)
    [offer] = figures["offers"]
    assert (offer["sold"], offer["held"], offer["available"]) == (2, 1, 7)
    assert offer["sell_through"] == 0.2
    assert offer["low_stock"] is False
    await ws.close()


def verify_token_for(user: str) -> str:
    token = viewer(user)["Authorization"].split()[1]
    assert verify_viewer_token(VIEWER_SECRET, token).user_id == user
    return token


async def test_low_stock_is_flagged_per_offer(client: Client) -> None:
    show = await create_show(client, stock=10)
    offer_id = show["offers"][0]["id"]
    await client.post("/api/shows/show-a/live", headers=HOST)
    await client.post(f"/api/shows/show-a/offers/{offer_id}/launch", headers=HOST)
    resp = await client.post(f"/api/offers/{offer_id}/pull", json={"quantity": 9}, headers=HOST)
    assert resp.status == 200
    [offer] = (await dashboard(client))["offers"]
    assert (offer["available"], offer["low_stock"]) == (1, True)


async def test_ending_a_show_closes_its_offers_and_freezes_the_report(
    client: Client, redis: Redis
) -> None:
    show = await create_show(client)
    offer_id = show["offers"][0]["id"]
    await client.post("/api/shows/show-a/live", headers=HOST)
    await client.post(f"/api/shows/show-a/offers/{offer_id}/launch", headers=HOST)
    await buy(client, offer_id, "carol", "press-carol-1", pay=True)
    resp = await client.get("/api/shows/show-a/report.json", headers=HOST)
    assert resp.status == 409
    assert await error_code(resp) == "show_not_ended"

    resp = await client.post("/api/shows/show-a/end", headers=HOST)
    assert resp.status == 200
    report = await resp.json()
    assert report["status"] == "ended"
    assert (report["orders"], report["units_sold"], report["gmv"]) == (1, 1, {"EUR": 1500})
    offer = await (await client.get(f"/api/offers/{offer_id}")).json()
    assert offer["state"] == "closed"
    # Ending twice gives the same report; the show takes no new products.
    assert await (await client.post("/api/shows/show-a/end", headers=HOST)).json() == report
    resp = await client.post("/api/shows/show-a/products", json=PRODUCT, headers=HOST)
    assert resp.status == 409

    resp = await client.get("/api/shows/show-a/report.json", headers=HOST)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="show-a-report.json"'
    assert await resp.json() == report
    resp = await client.get("/api/shows/show-a/report.csv", headers=HOST)
    assert resp.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await resp.text())))
    header, first = rows[0], rows[1]
    assert header[:3] == ["offer_id", "sku", "title"]
    assert first[1] == "MUG-1"
    # A title that a spreadsheet would run as a formula is written as text.
    assert first[2] == f"'{PRODUCT['title']}"
    assert ["gmv_EUR", "1500"] in rows
    assert await redis.exists(RoomKeys("show-a").report)


async def test_only_the_host_of_a_show_sees_its_dashboard(client: Client, redis: Redis) -> None:
    await create_show(client)
    rival = await other_host(redis)
    for path in ("/api/shows/show-a", "/api/shows/show-a/report.csv"):
        resp = await client.get(path, headers=rival)
        assert resp.status == 403
        assert await error_code(resp) == "not_your_room"
    resp = await client.post("/api/shows/show-a/end", headers=rival)
    assert resp.status == 403


async def test_demo_sign_in_is_off_unless_configured(
    client: Client, aiohttp_client: AiohttpClient, app_settings: Settings
) -> None:
    resp = await client.post("/api/demo/viewer-token", json={"display_name": "Ann"})
    assert resp.status == 404
    assert await error_code(resp) == "demo_disabled"
    demo = await aiohttp_client(
        create_app(dataclasses.replace(app_settings, demo_viewer_tokens=True))
    )
    resp = await demo.post("/api/demo/viewer-token", json={"display_name": "Ann <b>"})
    assert resp.status == 201
    body = await resp.json()
    signed_in = verify_viewer_token(VIEWER_SECRET, body["token"])
    assert (signed_in.user_id, signed_in.name) == (body["user_id"], "Ann <b>")


async def test_pages_are_served_with_a_strict_content_security_policy(client: Client) -> None:
    for path in ("/", "/console", "/watch/show-a"):
        resp = await client.get(path)
        assert resp.status == 200
        assert resp.content_type == "text/html"
        policy = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
    resp = await client.get("/static/watch.js")
    assert resp.status == 200
    assert "javascript" in resp.content_type
    resp = await client.get("/watch/bad%20room")
    assert resp.status == 404
