"""Giveaway draws, claims and redraws on real Redis and Kafka: the room hears the result and
each winner privately, the draw record verifies, each round reaches Kafka once as its
schema says, a claim becomes one zero-amount order of schema v2, and unclaimed prizes are
redrawn verifiably."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from redis.asyncio import Redis

from server.appkeys import ORDERS, ROOM_PUBLISHER
from server.giveaways.settings import GiveawaySettings
from server.giveaways.verify import verify
from server.orders.keys import purchases
from server.orders.status import StatusUpdates
from stockkeeper.audit import read_records
from stockkeeper.settings import StockSettings
from stockkeeper.status_reports import status_event

from .giveaway_helpers import (
    ROOM,
    SHIPPING,
    drawn,
    end_claim_window,
    end_window,
    enter,
    ok,
    start,
)
from .helpers import HOST, viewer
from .relay_helpers import drain
from .room_helpers import Client, events_until, of_type, token

pytest_plugins = ["tests.giveaway_fixtures"]

SCHEMAS = Path(__file__).resolve().parent.parent / "stockkeeper" / "schemas"
RESULT_SCHEMA = json.loads((SCHEMAS / "giveaway_result.v1.json").read_text())
ORDER_SCHEMA = json.loads((SCHEMAS / "order_confirmed.v2.json").read_text())


async def _drawn_giveaway(
    client: Client, redis: Redis, entrants: int, prizes: int
) -> dict[str, Any]:
    giveaway_id = (await start(client, prizes=prizes))["giveaway_id"]
    for n in range(entrants):
        assert (await enter(client, giveaway_id, f"viewer-{n:02}"))[0] == 201
    await end_window(redis, giveaway_id)
    return await drawn(client, giveaway_id)


async def claim(client: Client, giveaway_id: str, user_id: str, body: Any = None) -> Any:
    resp = await client.post(
        f"/api/giveaways/{giveaway_id}/claim", json=body or SHIPPING, headers=viewer(user_id)
    )
    return resp.status, await resp.json()


async def test_the_room_hears_the_draw_and_only_winners_hear_they_won(
    gw_client: Client, redis: Redis
) -> None:
    giveaway_id = (await start(gw_client, prizes=1))["giveaway_id"]
    sockets = {}
    for user in ("ann", "bob"):
        sockets[user] = await gw_client.ws_connect(
            f"/rooms/{ROOM}/live", params={"token": token(user)}
        )
        await enter(gw_client, giveaway_id, user)
    await end_window(redis, giveaway_id)
    view = await drawn(gw_client, giveaway_id)
    [winner] = [w["user_id"] for w in view["winners"]]
    loser = "bob" if winner == "ann" else "ann"
    for ws in sockets.values():
        [*_, event] = await events_until(ws, of_type("giveaway_drawn"))
        assert event["winners"] == [{"user_id": winner, "name": winner}]
        assert (event["seed"], event["entries_hash"]) == (view["seed"], view["entries_hash"])
        assert event["entries"] == 2
    [*_, won] = await events_until(sockets[winner], of_type("giveaway_won"))
    assert won["giveaway_id"] == giveaway_id
    assert won["claim_until_ms"] == view["claim_until_ms"]
    await sockets[loser].send_str(json.dumps({"type": "ping", "request_id": "p"}))
    seen = await events_until(sockets[loser], lambda e: e.get("request_id") == "p")
    assert "giveaway_won" not in [e["type"] for e in seen]
    for ws in sockets.values():
        await ws.close()


async def test_the_draw_record_verifies_and_each_round_reaches_kafka_once(
    gw_client: Client,
    redis: Redis,
    stock_settings: StockSettings,
    giveaway_settings: GiveawaySettings,
) -> None:
    view = await _drawn_giveaway(gw_client, redis, entrants=12, prizes=3)
    giveaway_id = view["giveaway_id"]
    record = await (await gw_client.get(f"/api/giveaways/{giveaway_id}/draw")).json()
    verdict = verify(record)
    assert verdict.verified, verdict.problems
    assert verdict.winners == [[w["user_id"] for w in view["winners"]]]

    await drain(redis, stock_settings, "relay-giveaways")
    [result] = await read_records(
        stock_settings.kafka_bootstrap, giveaway_settings.results_topic, expected=1, settle_s=1
    )
    jsonschema.validate(result.value, RESULT_SCHEMA)
    assert result.key == giveaway_id.encode()
    assert result.value["winners"] == record["rounds"][0]["winners"]
    assert (result.value["seed"], result.value["entries_count"]) == (record["seed"], 12)
    assert result.value["claim_until_ms"] == view["claim_until_ms"]


async def test_a_winner_claims_a_zero_amount_order_that_reaches_kafka_once(
    gw_client: Client, redis: Redis, stock_settings: StockSettings
) -> None:
    view = await _drawn_giveaway(gw_client, redis, entrants=3, prizes=1)
    giveaway_id, winner = view["giveaway_id"], view["winners"][0]["user_id"]
    status, claimed = await claim(gw_client, giveaway_id, winner)
    assert status == 201
    assert claimed["replayed"] is False
    assert claimed["order_id"] == f"giveaway-{giveaway_id}-{winner}"
    status, again = await claim(gw_client, giveaway_id, winner, {**SHIPPING, "city": "Lyon"})
    assert (status, again["order_id"], again["replayed"]) == (200, claimed["order_id"], True)

    await drain(redis, stock_settings, "relay-prizes")
    [order] = await read_records(
        stock_settings.kafka_bootstrap, stock_settings.orders_topic, expected=1, settle_s=1
    )
    jsonschema.validate(order.value, ORDER_SCHEMA)
    assert order.key == claimed["order_id"].encode()
    o = order.value
    assert (o["kind"], o["giveaway_id"], o["user_id"], o["room_id"]) == (
        "giveaway",
        giveaway_id,
        winner,
        ROOM,
    )
    assert (o["sku"], o["quantity"], o["unit_price"], o["amount"]) == ("MUG-RED", 1, 0, 0)
    assert (o["hold_id"], o["offer_id"], o["payment_ref"]) == (None, None, None)
    assert o["shipping"] == SHIPPING
    mine = await (
        await gw_client.get(f"/api/rooms/{ROOM}/giveaways", headers=viewer(winner))
    ).json()
    assert mine["giveaways"][0]["me"]["order_id"] == claimed["order_id"]


async def test_only_winners_claim_within_the_window_with_good_shipping_details(
    gw_client: Client, redis: Redis
) -> None:
    view = await _drawn_giveaway(gw_client, redis, entrants=3, prizes=1)
    giveaway_id, winner = view["giveaway_id"], view["winners"][0]["user_id"]
    loser = next(f"viewer-{n:02}" for n in range(3) if f"viewer-{n:02}" != winner)
    status, body = await claim(gw_client, giveaway_id, loser)
    assert (status, body["error"]["code"]) == (403, "not_a_winner")
    for bad, code, field in [
        ({**SHIPPING, "country": "France"}, "invalid_field", "country"),
        ({k: v for k, v in SHIPPING.items() if k != "city"}, "missing_field", "city"),
        ({**SHIPPING, "name": "   "}, "invalid_field", "name"),
        ({**SHIPPING, "address": "a" * 301}, "invalid_field", "address"),
        ({**SHIPPING, "email": "a@b.c"}, "unknown_field", "email"),
    ]:
        status, body = await claim(gw_client, giveaway_id, winner, bad)
        assert (status, body["error"]["code"], body["error"]["field"]) == (400, code, field)
    await end_claim_window(redis, giveaway_id)
    status, body = await claim(gw_client, giveaway_id, winner)
    assert (status, body["error"]["code"]) == (409, "claim_window_over")
    not_drawn = (await start(gw_client))["giveaway_id"]
    status, body = await claim(gw_client, not_drawn, winner)
    assert (status, body["error"]["code"]) == (409, "giveaway_not_drawn")


async def test_unclaimed_prizes_are_redrawn_verifiably_after_the_claim_window(
    gw_client: Client, redis: Redis
) -> None:
    view = await _drawn_giveaway(gw_client, redis, entrants=10, prizes=3)
    giveaway_id = view["giveaway_id"]
    first = [w["user_id"] for w in view["winners"]]
    redraw = f"/api/shows/{ROOM}/giveaways/{giveaway_id}/redraw"
    resp = await gw_client.post(redraw, headers=HOST)
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "claim_window_open")
    assert (await claim(gw_client, giveaway_id, first[0]))[0] == 201
    await end_claim_window(redis, giveaway_id)

    redrawn = await ok(gw_client, "POST", redraw)
    assert redrawn["round"] == 1
    second = [w["user_id"] for w in redrawn["winners"] if w["round"] == 1]
    assert len(second) == 2
    assert not set(second) & set(first)
    record = await (await gw_client.get(f"/api/giveaways/{giveaway_id}/draw")).json()
    assert record["rounds"][1] == {"round": 1, "prizes": 2, "excluded": [], "winners": second}
    verdict = verify(record)
    assert verdict.verified, verdict.problems
    # A round-0 winner who did not claim in time cannot claim after the redraw.
    assert (await claim(gw_client, giveaway_id, first[1]))[1]["error"]["code"] == (
        "claim_window_over"
    )
    for user in second:
        assert (await claim(gw_client, giveaway_id, user))[0] == 201
    resp = await gw_client.post(redraw, headers=HOST)
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "claim_window_open")
    await end_claim_window(redis, giveaway_id)
    resp = await gw_client.post(redraw, headers=HOST)
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "nothing_to_redraw")


async def test_a_giveaway_nobody_entered_is_drawn_with_no_winners(
    gw_client: Client, redis: Redis
) -> None:
    view = await _drawn_giveaway(gw_client, redis, entrants=0, prizes=2)
    assert (view["winners"], view["entries"]) == ([], 0)
    assert verify(
        await (await gw_client.get(f"/api/giveaways/{view['giveaway_id']}/draw")).json()
    ).verified
    await end_claim_window(redis, view["giveaway_id"])
    resp = await gw_client.post(
        f"/api/shows/{ROOM}/giveaways/{view['giveaway_id']}/redraw", headers=HOST
    )
    assert (await resp.json())["error"]["code"] == "nothing_to_redraw"


async def test_the_show_report_has_a_giveaways_section(gw_client: Client, redis: Redis) -> None:
    view = await _drawn_giveaway(gw_client, redis, entrants=4, prizes=2)
    winner = view["winners"][0]["user_id"]
    await claim(gw_client, view["giveaway_id"], winner)
    report = await ok(gw_client, "POST", f"/api/shows/{ROOM}/end")
    section = report["sections"]["giveaways"]
    assert (section["entries"], section["prizes_claimed"]) == (4, 1)
    [listed] = section["giveaways"]
    assert (listed["giveaway_id"], listed["state"], listed["claimed"]) == (
        view["giveaway_id"],
        "drawn",
        1,
    )
    assert listed["seed"] == view["seed"]


async def test_fulfilment_reports_a_prize_shipped_and_the_winner_hears_it(
    gw_client: Client, redis: Redis
) -> None:
    """A prize order is tracked as a purchase is: fulfilment's status events for it apply,
    in order, and the winner's page hears them; an unclaimed prize's id names no order."""
    view = await _drawn_giveaway(gw_client, redis, entrants=3, prizes=1)
    giveaway_id, winner = view["giveaway_id"], view["winners"][0]["user_id"]
    loser = next(f"viewer-{n:02}" for n in range(3) if f"viewer-{n:02}" != winner)
    updates = StatusUpdates(gw_client.app[ORDERS].scripts, gw_client.app[ROOM_PUBLISHER])
    unclaimed = status_event(f"giveaway-{giveaway_id}-{winner}", "shipped", "DHL", "JD1")
    assert (await updates.handle(orjson.dumps(unclaimed))).outcome == "unknown_order"

    status, claimed = await claim(gw_client, giveaway_id, winner)
    assert status == 201
    ws = await gw_client.ws_connect(f"/rooms/{ROOM}/live", params={"token": token(winner)})
    await events_until(ws, of_type("snapshot"))
    shipped = status_event(claimed["order_id"], "shipped", "DHL", "JD0146")
    assert (await updates.handle(orjson.dumps(shipped))).outcome == "applied"
    assert (await updates.handle(orjson.dumps(shipped))).outcome == "duplicate"
    [*_, heard] = await events_until(ws, of_type("order_status"))
    assert (heard["order_id"], heard["hold_id"], heard["status"]) == (
        claimed["order_id"],
        None,
        "shipped",
    )
    assert (heard["carrier"], heard["tracking"]) == ("DHL", "JD0146")
    await ws.close()
    # My orders lists the prize, won and free, with fulfilment's news; nobody else's does.
    mine = await (await gw_client.get("/api/me/orders", headers=viewer(winner))).json()
    [prize] = [o for o in mine["orders"] if o["kind"] == "prize"]
    assert (prize["order_id"], prize["title"], prize["room_id"]) == (
        claimed["order_id"],
        "Red mug",
        ROOM,
    )
    assert (prize["quantity"], prize["unit_price"], prize["hold_id"]) == (1, 0, "")
    assert (prize["state"], prize["carrier"], prize["tracking"]) == ("shipped", "DHL", "JD0146")
    assert prize["confirmed_at_ms"] == claimed["confirmed_at_ms"]
    theirs = await (await gw_client.get("/api/me/orders", headers=viewer(loser))).json()
    assert theirs["orders"] == []
    # Another viewer's id in the same giveaway names no order either.
    other = status_event(f"giveaway-{giveaway_id}-{loser}", "shipped", "DHL", "JD2")
    assert (await updates.handle(orjson.dumps(other))).outcome == "unknown_order"


async def test_a_prize_whose_record_was_lost_is_back_in_my_orders_at_the_winners_next_look(
    gw_client: Client, redis: Redis
) -> None:
    """Guards a prize missing from My orders for good: Redis went away between the claim
    and its record, and the page, seeing the claim, offers no retry."""
    view = await _drawn_giveaway(gw_client, redis, entrants=2, prizes=1)
    giveaway_id, winner = view["giveaway_id"], view["winners"][0]["user_id"]
    status, claimed = await claim(gw_client, giveaway_id, winner)
    assert status == 201
    await redis.delete(purchases(winner))  # the record the claim wrote, lost
    mine = await (await gw_client.get("/api/me/orders", headers=viewer(winner))).json()
    assert mine["orders"] == []
    listed = await gw_client.get(f"/api/rooms/{ROOM}/giveaways", headers=viewer(winner))
    assert (await listed.json())["giveaways"][0]["me"]["order_id"] == claimed["order_id"]
    mine = await (await gw_client.get("/api/me/orders", headers=viewer(winner))).json()
    assert [o["order_id"] for o in mine["orders"]] == [claimed["order_id"]]
