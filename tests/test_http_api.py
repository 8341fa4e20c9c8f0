"""The HTTP API, built by the app factory and called over real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.appkeys import REDIS
from server.tokens import mint_viewer_token

from .helpers import HOST, VIEWER_SECRET, viewer

Client = TestClient[web.Request, web.Application]

OFFER = {
    "room_id": "room-1",
    "sku": "SKU-RED-MUG",
    "title": "Red mug <limited>",
    "unit_price": 1999,
    "currency": "EUR",
    "stock": 5,
    "per_user_limit": 2,
    "hold_seconds": 300,
}


async def live_offer(client: Client, **overrides: Any) -> str:
    resp = await client.post("/api/offers", json={**OFFER, **overrides}, headers=HOST)
    assert resp.status == 201, await resp.text()
    offer_id: str = (await resp.json())["id"]
    resp = await client.post(
        f"/api/offers/{offer_id}/open",
        json={"countdown_seconds": 0, "window_seconds": 600},
        headers=HOST,
    )
    assert resp.status == 200, await resp.text()
    return offer_id


async def reserve(client: Client, offer_id: str, user: str, key: str, qty: int = 1) -> Any:
    return await client.post(
        f"/api/offers/{offer_id}/reservations",
        json={"quantity": qty, "idempotency_key": key},
        headers=viewer(user),
    )


async def error_code(resp: Any) -> str:
    body = await resp.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


# ------------------------------------------------------------------ the buyer's path


async def test_a_buyer_reserves_pays_and_sees_the_order(client: Client) -> None:
    offer_id = await live_offer(client)
    resp = await reserve(client, offer_id, "alice", "press-0001", qty=2)
    assert resp.status == 201
    body = await resp.json()
    assert body["outcome"] == "reserved"
    assert body["available"] == 3
    hold = body["hold"]
    assert hold["pay_by_ms"] - hold["reserved_at_ms"] == 300_000

    resp = await client.post(
        f"/api/holds/{hold['hold_id']}/confirm",
        json={"payment_ref": "psp-42"},
        headers=viewer("alice"),
    )
    assert resp.status == 200
    order = await resp.json()
    assert (order["outcome"], order["quantity"], order["amount"]) == ("confirmed", 2, 3998)

    resp = await client.get(f"/api/holds/{hold['hold_id']}", headers=viewer("alice"))
    status = await resp.json()
    assert (status["status"], status["order_id"]) == ("confirmed", order["order_id"])

    offer = await (await client.get(f"/api/offers/{offer_id}")).json()
    assert (offer["available"], offer["held"], offer["sold"]) == (3, 0, 2)
    assert offer["title"] == "Red mug <limited>"


async def test_a_retried_request_gets_the_same_hold_with_200(client: Client) -> None:
    offer_id = await live_offer(client)
    first = await (await reserve(client, offer_id, "alice", "press-0001")).json()
    resp = await reserve(client, offer_id, "alice", "press-0001")
    assert resp.status == 200
    again = await resp.json()
    assert again["replayed"]
    assert again["hold"]["hold_id"] == first["hold"]["hold_id"]


async def test_cancelling_puts_the_units_back(client: Client) -> None:
    offer_id = await live_offer(client, stock=1)
    hold = (await (await reserve(client, offer_id, "alice", "press-0001")).json())["hold"]
    assert (await reserve(client, offer_id, "bob", "press-0002")).status == 409
    resp = await client.post(f"/api/holds/{hold['hold_id']}/cancel", headers=viewer("alice"))
    assert (await resp.json()) == {"outcome": "cancelled", "available": 1}
    assert (await reserve(client, offer_id, "bob", "press-0003")).status == 201


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("sold_out", "sold_out"),
        ("limit", "limit_reached"),
        ("paused", "paused"),
        ("closed", "closed"),
        ("draft", "not_open"),
    ],
)
async def test_purchase_rejections_are_409_with_a_stable_code(
    client: Client, setup: str, code: str
) -> None:
    offer_id = await live_offer(client, stock=1, per_user_limit=1)
    user = "bob"
    if setup == "sold_out":
        await reserve(client, offer_id, "alice", "press-0001")
    elif setup == "limit":
        await client.post(f"/api/offers/{offer_id}/restock", json={"quantity": 1}, headers=HOST)
        await reserve(client, offer_id, "bob", "press-0001")
    elif setup in ("paused", "closed"):
        await client.post(f"/api/offers/{offer_id}/{setup.removesuffix('d')}", headers=HOST)
        if setup == "paused":
            await client.post(f"/api/offers/{offer_id}/pause", headers=HOST)
    elif setup == "draft":
        resp = await client.post("/api/offers", json=OFFER, headers=HOST)
        offer_id = (await resp.json())["id"]
    resp = await reserve(client, offer_id, user, "press-0002")
    assert resp.status == 409
    assert await error_code(resp) == code


async def test_late_payment_for_a_resold_unit_answers_hold_expired(client: Client) -> None:
    offer_id = await live_offer(client, stock=1, hold_seconds=1)
    hold = (await (await reserve(client, offer_id, "alice", "press-0001")).json())["hold"]
    await asyncio.sleep(1.1)
    assert (await reserve(client, offer_id, "bob", "press-0002")).status == 201
    resp = await client.post(
        f"/api/holds/{hold['hold_id']}/confirm",
        json={"payment_ref": "psp-late"},
        headers=viewer("alice"),
    )
    assert resp.status == 409
    body = await resp.json()
    assert body["error"]["code"] == "hold_expired"
    assert body["error"]["refund_due"] is True


# ------------------------------------------------------------------ host endpoints


async def test_host_endpoints_need_a_host_api_token(client: Client) -> None:
    resp = await client.post("/api/offers", json=OFFER)
    assert resp.status == 401
    assert await error_code(resp) == "host_auth_required"
    resp = await client.post("/api/offers", json=OFFER, headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401
    assert await error_code(resp) == "invalid_host_token"
    # A viewer token is no host token.
    resp = await client.post("/api/offers", json=OFFER, headers=viewer("alice"))
    assert resp.status == 401
    assert await error_code(resp) == "invalid_host_token"


async def test_host_runs_the_offer_lifecycle(client: Client) -> None:
    offer_id = await live_offer(client, stock=2)
    for action, state in (("pause", "paused"), ("resume", "open"), ("close", "closed")):
        resp = await client.post(f"/api/offers/{offer_id}/{action}", headers=HOST)
        assert (await resp.json())["state"] == state
    resp = await client.post(f"/api/offers/{offer_id}/pause", headers=HOST)
    assert resp.status == 409
    assert await error_code(resp) == "invalid_state"
    offers = await (await client.get("/api/rooms/room-1/offers")).json()
    assert [o["id"] for o in offers["offers"]] == [offer_id]


async def test_pulling_more_than_is_available_is_refused(client: Client) -> None:
    offer_id = await live_offer(client, stock=3)
    await reserve(client, offer_id, "alice", "press-0001")
    resp = await client.post(f"/api/offers/{offer_id}/pull", json={"quantity": 3}, headers=HOST)
    assert resp.status == 409
    body = await resp.json()
    assert (body["error"]["code"], body["error"]["available"]) == ("insufficient_stock", 2)


async def test_opening_with_an_impossible_window_is_refused(client: Client) -> None:
    resp = await client.post("/api/offers", json=OFFER, headers=HOST)
    offer_id = (await resp.json())["id"]
    resp = await client.post(f"/api/offers/{offer_id}/open", json={}, headers=HOST)
    assert resp.status == 422
    assert await error_code(resp) == "invalid_window"


# ------------------------------------------------------------------ bad input


BAD_RESERVATIONS = [
    (b"{not json", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_body"),
    (b'{"quantity": 1}', 400, "missing_field"),
    (b'{"quantity": "1", "idempotency_key": "press-0001"}', 400, "invalid_field"),
    (b'{"quantity": true, "idempotency_key": "press-0001"}', 400, "invalid_field"),
    (b'{"quantity": 1.5, "idempotency_key": "press-0001"}', 400, "invalid_field"),
    (b'{"quantity": 0, "idempotency_key": "press-0001"}', 400, "out_of_range"),
    (b'{"quantity": -3, "idempotency_key": "press-0001"}', 400, "out_of_range"),
    (b'{"quantity": 99999999999999999999, "idempotency_key": "press-0001"}', 400, "out_of_range"),
    (b'{"quantity": 1, "idempotency_key": "short"}', 400, "invalid_field"),
    (b'{"quantity": 1, "idempotency_key": 12345678}', 400, "invalid_field"),
    (b'{"quantity": 1, "idempotency_key": "press-0001", "price": 0}', 400, "unknown_field"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_RESERVATIONS)
async def test_bad_reservation_bodies_get_a_4xx_and_take_nothing(
    client: Client, body: bytes, status: int, code: str
) -> None:
    offer_id = await live_offer(client)
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        data=body,
        headers={**viewer("alice"), "Content-Type": "application/json"},
    )
    assert resp.status == status
    assert await error_code(resp) == code
    offer = await (await client.get(f"/api/offers/{offer_id}")).json()
    assert offer["available"] == 5


async def test_an_oversize_body_is_refused_with_413(client: Client) -> None:
    offer_id = await live_offer(client)
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        data=b'{"idempotency_key": "' + b"x" * 100_000 + b'"}',
        headers={**viewer("alice"), "Content-Type": "application/json"},
    )
    assert resp.status == 413
    assert await error_code(resp) == "body_too_large"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/offers/424242/reservations", "unknown_offer"),
        ("/api/offers/not-a-number/reservations", "unknown_offer"),
    ],
)
async def test_unknown_offers_are_404(client: Client, path: str, code: str) -> None:
    resp = await client.post(path, json={"idempotency_key": "press-0001"}, headers=viewer("a"))
    assert resp.status == 404
    assert await error_code(resp) == code


@pytest.mark.parametrize("hold_id", ["1-0000000000000000", "garbage", "1-zz"])
async def test_unknown_holds_are_404(client: Client, hold_id: str) -> None:
    for method, suffix, body in (
        ("GET", "", None),
        ("POST", "/confirm", {"payment_ref": "p"}),
        ("POST", "/cancel", None),
    ):
        resp = await client.request(
            method, f"/api/holds/{hold_id}{suffix}", json=body, headers=viewer("alice")
        )
        assert resp.status == 404, (method, suffix)
        assert await error_code(resp) == "unknown_hold"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "token_required"),
        ("Bearer nonsense", "invalid_token"),
        ("Bearer v1.e30.AAAA", "invalid_token"),
        (f"Bearer {mint_viewer_token('another-secret', 'alice', 'Alice')}", "invalid_token"),
        (f"Bearer {mint_viewer_token(VIEWER_SECRET, 'alice', 'Alice', -10)}", "token_expired"),
    ],
)
async def test_buying_needs_a_valid_viewer_token(
    client: Client, authorization: str | None, code: str
) -> None:
    offer_id = await live_offer(client)
    headers = {"Authorization": authorization} if authorization else {}
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        json={"idempotency_key": "press-0001"},
        headers=headers,
    )
    assert resp.status == 401
    assert await error_code(resp) == code


async def test_a_tampered_token_is_refused(client: Client) -> None:
    token = mint_viewer_token(VIEWER_SECRET, "alice", "Alice")
    version, payload, signature = token.split(".")
    forged = mint_viewer_token("x", "mallory", "M").split(".")[1]
    resp = await client.get(
        "/api/holds/1-0000000000000000",
        headers={"Authorization": f"Bearer {version}.{forged}.{signature}"},
    )
    assert resp.status == 401
    assert payload != forged


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("stock", 0, "out_of_range"),
        ("stock", 10**12, "out_of_range"),
        ("unit_price", -1, "out_of_range"),
        ("currency", "euro", "invalid_field"),
        ("room_id", "room 1/../x", "invalid_field"),
        ("title", "", "invalid_field"),
        ("per_user_limit", 0, "out_of_range"),
        ("hold_seconds", 0, "out_of_range"),
        ("colour", "red", "unknown_field"),
        ("buckets", 0, "out_of_range"),
        ("buckets", 65, "out_of_range"),
        ("buckets", 6, "invalid_field"),  # more buckets than the 5 units of stock
    ],
)
async def test_bad_offers_are_refused(client: Client, field: str, value: Any, code: str) -> None:
    resp = await client.post("/api/offers", json={**OFFER, field: value}, headers=HOST)
    assert resp.status == 400
    assert await error_code(resp) == code


async def test_unknown_addresses_and_methods_answer_json(client: Client) -> None:
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404
    assert await error_code(resp) == "not_found"
    resp = await client.delete("/api/offers")
    assert resp.status == 405
    assert await error_code(resp) == "method_not_allowed"


async def test_health_and_readiness(client: Client) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await (await client.get("/readyz")).json()) == {"status": "ready"}


async def test_idempotency_keys_expire_so_redis_does_not_fill_with_old_presses(
    client: Client,
) -> None:
    offer_id = await live_offer(client)
    await reserve(client, offer_id, "alice", "press-0001")
    redis = client.app[REDIS]
    [key] = [k async for k in redis.scan_iter(match="*:idem:*")]
    assert 0 < await redis.ttl(key) <= 24 * 3600
