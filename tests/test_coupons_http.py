"""Coupons and red packets over the HTTP API and the room socket: hosts create, start and
end drops and rains under their show; viewers claim, grab, see their wallet and pay with
them; bad input answers 4xx with a stable code; the discounted order reaches Kafka."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.room.bans import BanList
from server.room.keys import RoomKeys
from stockkeeper.audit import read_records
from stockkeeper.settings import StockSettings

from .helpers import HOST, viewer
from .relay_helpers import SCHEMAS, drain
from .room_helpers import ask, events_until, of_type, token
from .test_hosts import other_host
from .test_http_api import error_code

Client = TestClient[web.Request, web.Application]
ROOM = "coupon-show"
PRODUCT = {
    "sku": "MUG-1",
    "title": "Mug",
    "unit_price": 2000,
    "currency": "EUR",
    "stock": 50,
    "per_user_limit": 10,
    "countdown_seconds": 0,
    "window_seconds": 600,
}
DROP = {"title": "5 off", "amount_off": 500, "quota": 10}
RAIN = {"title": "Rain", "pool": 700, "packets": 10}


async def show_with_offer(client: Client) -> str:
    body = {"room_id": ROOM, "title": "Coupon night", "products": [PRODUCT]}
    resp = await client.post("/api/shows", json=body, headers=HOST)
    assert resp.status == 201, await resp.text()
    offer_id: str = (await resp.json())["offers"][0]["id"]
    for path in ("live", f"offers/{offer_id}/launch"):
        resp = await client.post(f"/api/shows/{ROOM}/{path}", headers=HOST)
        assert resp.status == 200, await resp.text()
    return offer_id


async def post(client: Client, path: str, body: Any = None, who: Any = HOST) -> Any:
    resp = await client.post(path, json=body, headers=who)
    assert resp.status < 300, await resp.text()
    return await resp.json()


async def started(client: Client, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    made = await post(client, f"/api/shows/{ROOM}/{kind}", body)
    key = "drop_id" if kind == "coupon-drops" else "rain_id"
    return dict(await post(client, f"/api/shows/{ROOM}/{kind}/{made[key]}/start"))


async def hold(client: Client, offer_id: str, user: str, key: str) -> str:
    body = {"idempotency_key": key}
    reserved = await post(client, f"/api/offers/{offer_id}/reservations", body, viewer(user))
    return str(reserved["hold"]["hold_id"])


async def test_a_host_drops_coupons_viewers_claim_and_pay_with_one(client: Client) -> None:
    offer_id = await show_with_offer(client)
    drop = await started(client, "coupon-drops", {**DROP, "min_spend": 1000})
    assert (drop["status"], drop["claimed"], drop["quota"]) == ("live", 0, 10)
    path = f"/api/rooms/{ROOM}/coupon-drops/{drop['drop_id']}/claim"
    claimed = await post(client, path, {"idempotency_key": "tap-00001"}, viewer("ann"))
    again = await post(client, path, {"idempotency_key": "tap-00001"}, viewer("ann"))
    assert again == {**claimed, "replayed": True}
    resp = await client.post(path, json={"idempotency_key": "tap-00002"}, headers=viewer("ann"))
    assert (resp.status, await error_code(resp)) == (409, "already_claimed")

    wallet = await (await client.get(f"/api/rooms/{ROOM}/wallet", headers=viewer("ann"))).json()
    [coupon] = wallet["coupons"]
    assert (coupon["coupon_id"], coupon["amount_off"], coupon["status"]) == (
        claimed["coupon_id"],
        500,
        "active",
    )

    hold_id = await hold(client, offer_id, "ann", "press-00001")
    pay = {"payment_ref": "psp-1", "coupon_id": claimed["coupon_id"]}
    paid = await post(client, f"/api/holds/{hold_id}/confirm", pay, viewer("ann"))
    assert (paid["amount"], paid["discount"], paid["credit"], paid["coupon_id"]) == (
        1500,
        500,
        0,
        claimed["coupon_id"],
    )
    replay = await post(client, f"/api/holds/{hold_id}/confirm", pay, viewer("ann"))
    assert replay == {**paid, "replayed": True}

    second = await hold(client, offer_id, "ann", "press-00002")
    resp = await client.post(
        f"/api/holds/{second}/confirm", json={**pay, "payment_ref": "psp-2"}, headers=viewer("ann")
    )
    assert (resp.status, await error_code(resp)) == (409, "coupon_used")
    resp = await client.post(
        f"/api/holds/{second}/confirm", json={**pay, "payment_ref": "psp-2"}, headers=viewer("bob")
    )
    # Somebody else's coupon answers like a missing one.
    assert (resp.status, await error_code(resp)) == (404, "unknown_coupon")

    listed = await (await client.get(f"/api/shows/{ROOM}/coupon-drops", headers=HOST)).json()
    assert (listed["drops"][0]["spent"], listed["drops"][0]["spent_amount"]) == (1, 500)


async def test_a_red_packet_rain_gives_credit_spent_at_payment(client: Client) -> None:
    offer_id = await show_with_offer(client)
    rain = await started(client, "red-packet-rains", {"title": "Rain", "pool": 700, "packets": 1})
    path = f"/api/rooms/{ROOM}/red-packet-rains/{rain['rain_id']}/grab"
    grabbed = await post(client, path, {"idempotency_key": "tap-00001"}, viewer("ann"))
    assert (grabbed["amount"], grabbed["grabbed"], grabbed["packets"]) == (700, 1, 1)
    resp = await client.post(path, json={"idempotency_key": "tap-00002"}, headers=viewer("bob"))
    assert (resp.status, await error_code(resp)) == (409, "drop_exhausted")
    hold_id = await hold(client, offer_id, "ann", "press-00001")
    pay = {"payment_ref": "psp-1", "use_credit": True}
    paid = await post(client, f"/api/holds/{hold_id}/confirm", pay, viewer("ann"))
    assert (paid["amount"], paid["credit"]) == (1300, 700)
    wallet = await (await client.get(f"/api/rooms/{ROOM}/wallet", headers=viewer("ann"))).json()
    assert wallet["credit"] == 0
    assert wallet["packets"][0]["status"] == "spent"


async def test_claims_grabs_and_payments_over_the_room_socket_with_room_events(
    client: Client,
) -> None:
    offer_id = await show_with_offer(client)
    ws = await client.ws_connect(f"/rooms/{ROOM}/live", params={"token": token("ann")})
    drop = await started(client, "coupon-drops", DROP)
    [*_, event] = await events_until(ws, of_type("coupon_drop_started"))
    assert event["drop"]["drop_id"] == drop["drop_id"]
    answer = await ask(ws, "coupon_claim", drop_id=drop["drop_id"], idempotency_key="tap-00001")
    assert (answer["type"], answer["status"], answer["claimed"]) == ("coupon_claim_result", 200, 1)
    [*_, counted] = await events_until(ws, of_type("coupon_drop_claimed"))
    assert (counted["claimed"], counted["quota"]) == (1, 10)
    again = await ask(ws, "coupon_claim", drop_id=drop["drop_id"], idempotency_key="tap-00002")
    assert (again["type"], again["code"]) == ("error", "already_claimed")

    rain = await started(client, "red-packet-rains", {"title": "R", "pool": 100, "packets": 2})
    grab = await ask(ws, "red_packet_grab", rain_id=rain["rain_id"], idempotency_key="tap-00003")
    assert grab["type"] == "red_packet_grab_result"

    hold_id = await hold(client, offer_id, "ann", "press-00001")
    paid = await ask(
        ws,
        "confirm",
        hold_id=hold_id,
        payment_ref="psp-1",
        coupon_id=answer["coupon_id"],
        use_credit=True,
    )
    assert paid["type"] == "confirm_result"
    assert paid["amount"] == 2000 - 500 - grab["amount"]
    await post(client, f"/api/shows/{ROOM}/coupon-drops/{drop['drop_id']}/end")
    [*_, ended] = await events_until(ws, of_type("coupon_drop_ended"))
    assert ended["drop_id"] == drop["drop_id"]
    await ws.close()


async def test_the_show_report_has_a_coupons_section(client: Client) -> None:
    await show_with_offer(client)
    drop = await started(client, "coupon-drops", DROP)
    path = f"/api/rooms/{ROOM}/coupon-drops/{drop['drop_id']}/claim"
    await post(client, path, {"idempotency_key": "tap-00001"}, viewer("ann"))
    report = await post(client, f"/api/shows/{ROOM}/end")
    section = report["sections"]["coupons"]
    assert section["coupons_claimed"] == 1
    assert section["drops"][0]["drop_id"] == drop["drop_id"]
    assert section["drops"][0]["status"] == "ended"  # the show's end ends its drops
    resp = await client.post(path, json={"idempotency_key": "tap-00002"}, headers=viewer("bob"))
    assert (resp.status, await error_code(resp)) == (409, "claim_window_over")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({**DROP, "amount_off": None, "percent_off": 101}, "out_of_range", "percent_off"),
        ({**DROP, "amount_off": -5}, "out_of_range", "amount_off"),
        ({**DROP, "percent_off": 10}, "invalid_field", "amount_off"),
        ({**DROP, "min_spend": -1}, "out_of_range", "min_spend"),
        ({**DROP, "quota": 0}, "out_of_range", "quota"),
        ({**DROP, "quota": 100_001}, "out_of_range", "quota"),
        ({**DROP, "claim_seconds": 5}, "out_of_range", "claim_seconds"),
        ({**DROP, "claim_seconds": 600, "valid_seconds": 300}, "invalid_field", "valid_seconds"),
        ({**DROP, "offer_id": "999"}, "unknown_offer", None),
    ],
)
async def test_bad_drops_are_refused_with_a_stable_code(
    client: Client, body: dict[str, Any], code: str, field: str | None
) -> None:
    await show_with_offer(client)
    resp = await client.post(f"/api/shows/{ROOM}/coupon-drops", json=body, headers=HOST)
    assert resp.status in (400, 404)
    answer = (await resp.json())["error"]
    assert (answer["code"], answer.get("field")) == (code, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pool": 10, "packets": 11}, "packets"),
        ({"pool": -1, "packets": 1}, "pool"),
        ({"pool": 100, "packets": 0}, "packets"),
        ({"pool": 100, "packets": 10_001}, "packets"),
        ({"pool": 100, "packets": 5, "window_seconds": 4}, "window_seconds"),
        ({"pool": 100, "packets": 5, "window_seconds": 61}, "window_seconds"),
    ],
)
async def test_bad_rains_are_refused_with_a_stable_code(
    client: Client, body: dict[str, Any], field: str
) -> None:
    await show_with_offer(client)
    resp = await client.post(
        f"/api/shows/{ROOM}/red-packet-rains", json={"title": "R", **body}, headers=HOST
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == field


async def test_viewers_and_other_hosts_cannot_run_drops(client: Client, redis: Redis) -> None:
    await show_with_offer(client)
    path = f"/api/shows/{ROOM}/coupon-drops"
    resp = await client.post(path, json=DROP, headers=viewer("ann"))
    assert (resp.status, await error_code(resp)) == (401, "invalid_host_token")
    resp = await client.post(path, json=DROP)
    assert (resp.status, await error_code(resp)) == (401, "host_auth_required")
    drop = await started(client, "coupon-drops", DROP)
    rival = await other_host(redis)
    for attempt in (
        client.post(path, json=DROP, headers=rival),
        client.post(f"{path}/{drop['drop_id']}/end", headers=rival),
        client.get(path, headers=rival),
    ):
        resp = await attempt
        assert (resp.status, await error_code(resp)) == (403, "not_your_room")


async def test_claims_outside_the_window_and_of_unknown_drops_are_refused(client: Client) -> None:
    await show_with_offer(client)
    made = await post(client, f"/api/shows/{ROOM}/coupon-drops", DROP)
    path = f"/api/rooms/{ROOM}/coupon-drops/{made['drop_id']}/claim"
    tap = {"idempotency_key": "tap-00001"}
    resp = await client.post(path, json=tap, headers=viewer("ann"))
    assert (resp.status, await error_code(resp)) == (409, "drop_not_live")
    await post(client, f"/api/shows/{ROOM}/coupon-drops/{made['drop_id']}/start")
    resp = await client.post(
        f"/api/shows/{ROOM}/coupon-drops/{made['drop_id']}/start", headers=HOST
    )
    assert (resp.status, await error_code(resp)) == (409, "drop_state")
    await post(client, f"/api/shows/{ROOM}/coupon-drops/{made['drop_id']}/end")
    resp = await client.post(path, json=tap, headers=viewer("ann"))
    assert (resp.status, await error_code(resp)) == (409, "claim_window_over")
    resp = await client.post(
        f"/api/rooms/{ROOM}/coupon-drops/d999/claim", json=tap, headers=viewer("ann")
    )
    assert (resp.status, await error_code(resp)) == (404, "unknown_drop")
    resp = await client.post(
        f"/api/rooms/other-room/coupon-drops/{made['drop_id']}/claim", json=tap, headers=viewer("a")
    )
    assert (resp.status, await error_code(resp)) == (404, "unknown_drop")


async def test_a_banned_viewer_can_claim_no_coupon_and_grab_no_packet_over_http(
    client: Client, redis: Redis
) -> None:
    """The host's ban closes the viewer's sockets; their HTTP claims are refused too, and
    nothing is taken from the drop or the rain."""
    await show_with_offer(client)
    drop = await started(client, "coupon-drops", DROP)
    rain = await started(client, "red-packet-rains", RAIN)
    claim = f"/api/rooms/{ROOM}/coupon-drops/{drop['drop_id']}/claim"
    grab = f"/api/rooms/{ROOM}/red-packet-rains/{rain['rain_id']}/grab"
    await post(client, claim, {"idempotency_key": "tap-bob-1"}, viewer("bob"))
    await post(client, f"/api/rooms/{ROOM}/bans", {"user_id": "ann"})
    for path in (claim, grab):
        resp = await client.post(path, json={"idempotency_key": "tap-ann-1"}, headers=viewer("ann"))
        assert (resp.status, await error_code(resp)) == (403, "banned")
    wallet = await (await client.get(f"/api/rooms/{ROOM}/wallet", headers=viewer("ann"))).json()
    assert (wallet["coupons"], wallet["packets"], wallet["credit"]) == ([], [], 0)
    await post(client, claim, {"idempotency_key": "tap-cid-1"}, viewer("cid"))  # others go on


async def test_a_process_that_read_the_bans_earlier_learns_a_new_ban_within_its_refresh(
    redis: Redis,
) -> None:
    bans = BanList(redis, refresh_s=0.05)
    assert not await bans.is_banned("ban-room", "ann")
    await redis.sadd(RoomKeys("ban-room").banned, "ann")  # banned through another process
    assert not await bans.is_banned("ban-room", "ann")  # not known yet: within the refresh
    await asyncio.sleep(0.06)
    assert await bans.is_banned("ban-room", "ann")
    bans.banned("ban-room", "bob")  # read from the room's channel: counts at once
    assert await bans.is_banned("ban-room", "bob")


async def test_paying_with_a_coupon_one_does_not_hold_is_refused(client: Client) -> None:
    offer_id = await show_with_offer(client)
    hold_id = await hold(client, offer_id, "ann", "press-00001")
    pay = {"payment_ref": "psp-1", "coupon_id": "d77.1"}
    resp = await client.post(f"/api/holds/{hold_id}/confirm", json=pay, headers=viewer("ann"))
    assert (resp.status, await error_code(resp)) == (404, "unknown_coupon")
    pay["coupon_id"] = "not-a-coupon"
    resp = await client.post(f"/api/holds/{hold_id}/confirm", json=pay, headers=viewer("ann"))
    assert (resp.status, await error_code(resp)) == (400, "invalid_field")


async def test_a_discounted_order_in_kafka_matches_schema_v2_with_its_amounts(
    client: Client, redis: Redis, stock_settings: StockSettings
) -> None:
    offer_id = await show_with_offer(client)
    drop = await started(client, "coupon-drops", {**DROP, "amount_off": None, "percent_off": 15})
    rain = await started(client, "red-packet-rains", {"title": "R", "pool": 250, "packets": 1})
    tap = {"idempotency_key": "tap-00001"}
    coupon = await post(
        client, f"/api/rooms/{ROOM}/coupon-drops/{drop['drop_id']}/claim", tap, viewer("ann")
    )
    await post(
        client, f"/api/rooms/{ROOM}/red-packet-rains/{rain['rain_id']}/grab", tap, viewer("ann")
    )
    reserved = await post(
        client,
        f"/api/offers/{offer_id}/reservations",
        {"idempotency_key": "press-00001", "quantity": 2},
        viewer("ann"),
    )
    pay = {"payment_ref": "psp-1", "coupon_id": coupon["coupon_id"], "use_credit": True}
    hold_id = reserved["hold"]["hold_id"]
    paid = await post(client, f"/api/holds/{hold_id}/confirm", pay, viewer("ann"))

    await drain(redis, stock_settings, "relay-coupons")
    [record] = await read_records(stock_settings.kafka_bootstrap, stock_settings.orders_topic, 1)
    jsonschema.validate(record.value, json.loads((SCHEMAS / "order_confirmed.v2.json").read_text()))
    order = record.value
    assert order["order_id"] == paid["order_id"]
    assert (order["quantity"], order["unit_price"], order["discount"], order["credit"]) == (
        2,
        2000,
        600,
        250,
    )
    assert order["amount"] == 2 * 2000 - 600 - 250 == paid["amount"]
    assert order["coupon_id"] == coupon["coupon_id"]
