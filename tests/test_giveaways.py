"""Giveaways over the HTTP API and the room socket, on real Redis: creating and starting
them, who may enter under each rule, one entry per viewer, bans, and the errors with their
stable codes."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper

from .giveaway_helpers import ROOM, drawn, end_window, enter, ok, start
from .helpers import HOST, viewer
from .room_helpers import Client, ask, events_until, of_type, token

pytest_plugins = ["tests.giveaway_fixtures"]


async def test_a_started_giveaway_publishes_its_commitment_and_end(gw_client: Client) -> None:
    ws = await gw_client.ws_connect(f"/rooms/{ROOM}/live")
    created = await start(gw_client, prizes=3, window_seconds=120)
    assert (created["state"], created["prizes"], created["rule"]) == ("open", 3, "any")
    assert created["seed"] is None
    assert created["entries_hash"] is None
    assert len(created["commitment"]) == 64
    [*_, event] = await events_until(ws, of_type("giveaway_started"))
    assert event["commitment"] == created["commitment"]
    assert event["ends_at_ms"] == created["ends_at_ms"]
    assert event["ends_at_ms"] - created["started_at_ms"] == 120_000
    assert event["giveaway"]["giveaway_id"] == created["giveaway_id"]
    await ws.close()


async def test_the_seed_revealed_at_the_draw_matches_the_commitment(
    gw_client: Client, redis: Redis
) -> None:
    created = await start(gw_client)
    await end_window(redis, created["giveaway_id"])
    view = await drawn(gw_client, created["giveaway_id"])
    assert hashlib.sha256(bytes.fromhex(view["seed"])).hexdigest() == created["commitment"]


async def test_a_viewer_enters_once_and_entering_again_changes_nothing(gw_client: Client) -> None:
    giveaway_id = (await start(gw_client))["giveaway_id"]
    assert await enter(gw_client, giveaway_id, "ann") == (
        201,
        {"giveaway_id": giveaway_id, "outcome": "entered", "entries": 1},
    )
    again = await asyncio.gather(*(enter(gw_client, giveaway_id, "ann") for _ in range(10)))
    assert {(status, body["outcome"], body["entries"]) for status, body in again} == {
        (200, "already_entered", 1)
    }
    assert (await enter(gw_client, giveaway_id, "bob"))[1]["entries"] == 2


async def test_entering_over_the_room_socket(gw_client: Client) -> None:
    giveaway_id = (await start(gw_client))["giveaway_id"]
    ws = await gw_client.ws_connect(f"/rooms/{ROOM}/live", params={"token": token("cleo")})
    answer = await ask(ws, "giveaway_enter", giveaway_id=giveaway_id)
    assert (answer["type"], answer["outcome"], answer["entries"]) == (
        "giveaway_entered",
        "entered",
        1,
    )
    answer = await ask(ws, "giveaway_enter", giveaway_id=giveaway_id)
    assert answer["outcome"] == "already_entered"
    assert (await ask(ws, "giveaway_enter", giveaway_id="999"))["code"] == "unknown_giveaway"
    assert (await ask(ws, "giveaway_enter"))["code"] == "missing_field"
    await ws.close()
    anonymous = await gw_client.ws_connect(f"/rooms/{ROOM}/live")
    answer = await ask(anonymous, "giveaway_enter", giveaway_id=giveaway_id)
    assert answer["code"] == "token_required"
    await anonymous.close()


async def test_the_entry_count_reaches_the_room(gw_client: Client) -> None:
    ws = await gw_client.ws_connect(f"/rooms/{ROOM}/live")
    giveaway_id = (await start(gw_client))["giveaway_id"]
    for user in ("u1", "u2", "u3"):
        await enter(gw_client, giveaway_id, user)
    [*_, event] = await events_until(ws, of_type("giveaway_entries", entries=3))
    assert event["giveaway_id"] == giveaway_id
    await ws.close()


async def test_no_entry_before_the_start_nor_after_the_window(
    gw_client: Client, redis: Redis
) -> None:
    draft = await start(gw_client, start=False)
    assert draft["state"] == "draft"
    assert draft["commitment"] is None
    status, body = await enter(gw_client, draft["giveaway_id"], "ann")
    assert (status, body["error"]["code"]) == (409, "giveaway_not_open")
    started = await ok(
        gw_client, "POST", f"/api/shows/{ROOM}/giveaways/{draft['giveaway_id']}/start"
    )
    assert started["state"] == "open"
    await end_window(redis, draft["giveaway_id"])
    status, body = await enter(gw_client, draft["giveaway_id"], "ann")
    assert (status, body["error"]["code"]) == (409, "giveaway_closed")


async def test_a_banned_viewer_cannot_enter_and_one_banned_later_never_wins(
    gw_client: Client, redis: Redis
) -> None:
    giveaway_id = (await start(gw_client, prizes=5))["giveaway_id"]
    await ok(gw_client, "POST", f"/api/rooms/{ROOM}/bans", {"user_id": "troll"})
    status, body = await enter(gw_client, giveaway_id, "troll")
    assert (status, body["error"]["code"]) == (403, "banned")
    for user in ("ann", "bob", "sly"):
        assert (await enter(gw_client, giveaway_id, user))[0] == 201
    await ok(gw_client, "POST", f"/api/rooms/{ROOM}/bans", {"user_id": "sly"})
    await end_window(redis, giveaway_id)
    view = await drawn(gw_client, giveaway_id)
    assert sorted(w["user_id"] for w in view["winners"]) == ["ann", "bob"]
    record = await (await gw_client.get(f"/api/giveaways/{giveaway_id}/draw")).json()
    assert record["entries"] == ["ann", "bob", "sly"]
    assert record["rounds"][0]["excluded"] == ["sly"]


async def test_keyword_giveaways_are_entered_by_posting_the_keyword_in_chat(
    gw_client: Client,
) -> None:
    giveaway_id = (await start(gw_client, rule="keyword", keyword="Lucky Mug"))["giveaway_id"]
    status, body = await enter(gw_client, giveaway_id, "ann")
    assert (status, body["error"]["code"]) == (403, "entry_rule_not_met")
    assert body["error"]["keyword"] == "Lucky Mug"
    ws = await gw_client.ws_connect(f"/rooms/{ROOM}/live", params={"token": token("ann")})
    plain = await ask(ws, "chat", text="hello everyone")
    assert plain["type"] == "chat_ack"
    assert "giveaways_entered" not in plain
    ack = await ask(ws, "chat", text="I want the LUCKY MUG please")
    assert ack["giveaways_entered"] == [giveaway_id]
    again = await ask(ws, "chat", text="lucky mug!")
    assert again["giveaways_entered"] == [giveaway_id]
    view = await (await gw_client.get(f"/api/giveaways/{giveaway_id}")).json()
    assert view["entries"] == 1
    await ws.close()


async def test_buyers_only_giveaways_take_only_buyers_of_this_show(
    gw_client: Client, keeper: StockKeeper
) -> None:
    offer = await ok(
        gw_client,
        "POST",
        f"/api/shows/{ROOM}/products",
        {"sku": "MUG", "title": "Mug", "unit_price": 500, "currency": "EUR", "stock": 5},
    )
    await keeper.open_offer(offer["id"], countdown_ms=0, window_ms=60_000)
    held = await keeper.reserve(offer["id"], "buyer", 1, "press-000001")
    assert held.hold_id
    await keeper.reserve(offer["id"], "holder", 1, "press-000002")
    await keeper.confirm(held.hold_id, "buyer", "psp-1")
    giveaway_id = (await start(gw_client, rule="bought"))["giveaway_id"]
    assert (await enter(gw_client, giveaway_id, "buyer"))[0] == 201
    for user in ("holder", "stranger"):  # a hold not paid for is not a purchase
        status, body = await enter(gw_client, giveaway_id, user)
        assert (status, body["error"]["code"]) == (403, "entry_rule_not_met")


async def test_watched_giveaways_take_viewers_who_watched_long_enough(gw_client: Client) -> None:
    ws = await gw_client.ws_connect(f"/rooms/{ROOM}/live", params={"token": token("fan")})
    await events_until(ws, of_type("snapshot"))
    giveaway_id = (await start(gw_client, rule="watched", min_watch_seconds=1))["giveaway_id"]
    status, body = await enter(gw_client, giveaway_id, "newcomer")
    assert (status, body["error"]["code"]) == (403, "entry_rule_not_met")
    assert body["error"]["min_watch_s"] == 1
    await asyncio.sleep(1.2)
    assert (await enter(gw_client, giveaway_id, "fan"))[0] == 201
    await ws.close()


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"prizes": 0}, "out_of_range", "prizes"),
        ({"prizes": 101}, "out_of_range", "prizes"),
        ({"window_seconds": 9}, "out_of_range", "window_seconds"),
        ({"window_seconds": 601}, "out_of_range", "window_seconds"),
        ({"rule": "followers"}, "invalid_field", "rule"),
        ({"rule": "keyword"}, "invalid_field", "keyword"),
        ({"rule": "watched"}, "invalid_field", "min_watch_seconds"),
        ({"sku": "no spaces"}, "invalid_field", "sku"),
        ({"winners": 3}, "unknown_field", "winners"),
    ],
)
async def test_a_bad_giveaway_is_refused_with_a_stable_code(
    gw_client: Client, fields: dict[str, Any], code: str, field: str
) -> None:
    body = {"title": "Mug", "sku": "MUG", **fields}
    resp = await gw_client.post(f"/api/shows/{ROOM}/giveaways", json=body, headers=HOST)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert (error["code"], error.get("field")) == (code, field)


async def test_only_the_shows_host_runs_its_giveaways(gw_client: Client, redis: Redis) -> None:
    body = {"title": "Mug", "sku": "MUG"}
    as_viewer = await gw_client.post(
        f"/api/shows/{ROOM}/giveaways", json=body, headers=viewer("ann")
    )
    assert (as_viewer.status, (await as_viewer.json())["error"]["code"]) == (
        401,
        "invalid_host_token",
    )
    anonymous = await gw_client.post(f"/api/shows/{ROOM}/giveaways", json=body)
    assert (await anonymous.json())["error"]["code"] == "host_auth_required"
    from server.hosts.accounts import HostAccounts

    other = HostAccounts(redis)
    await other.create("other-host", "another long password", "Other")
    await other.add_api_token("other-host", "lsh_other-token", "tests")
    theirs = {"Authorization": "Bearer lsh_other-token"}
    resp = await gw_client.post(f"/api/shows/{ROOM}/giveaways", json=body, headers=theirs)
    assert (resp.status, (await resp.json())["error"]["code"]) == (403, "not_your_room")
    giveaway_id = (await start(gw_client, start=False))["giveaway_id"]
    resp = await gw_client.post(f"/api/shows/{ROOM}/giveaways/{giveaway_id}/start", headers=theirs)
    assert (resp.status, (await resp.json())["error"]["code"]) == (403, "not_your_room")


async def test_a_giveaway_starts_only_in_a_live_show(gw_client: Client) -> None:
    await ok(gw_client, "POST", "/api/shows", {"room_id": "later", "title": "Tomorrow"})
    body = {"title": "Mug", "sku": "MUG"}
    resp = await gw_client.post("/api/shows/later/giveaways", json=body, headers=HOST)
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "show_not_live")
    draft = await ok(gw_client, "POST", "/api/shows/later/giveaways", {**body, "start": False})
    resp = await gw_client.post(
        f"/api/shows/later/giveaways/{draft['giveaway_id']}/start", headers=HOST
    )
    assert (resp.status, (await resp.json())["error"]["code"]) == (409, "show_not_live")
    # Another room's giveaway is not found through this show.
    other = await start(gw_client, start=False)
    resp = await gw_client.post(
        f"/api/shows/later/giveaways/{other['giveaway_id']}/start", headers=HOST
    )
    assert (resp.status, (await resp.json())["error"]["code"]) == (404, "unknown_giveaway")


async def test_the_room_lists_its_giveaways_with_the_viewers_own_standing(
    gw_client: Client,
) -> None:
    await start(gw_client, start=False)
    giveaway_id = (await start(gw_client))["giveaway_id"]
    await enter(gw_client, giveaway_id, "ann")
    public = await (await gw_client.get(f"/api/rooms/{ROOM}/giveaways")).json()
    assert [g["giveaway_id"] for g in public["giveaways"]] == [giveaway_id]  # no drafts
    assert "me" not in public["giveaways"][0]
    mine = await (await gw_client.get(f"/api/rooms/{ROOM}/giveaways", headers=viewer("ann"))).json()
    assert mine["giveaways"][0]["me"] == {
        "entered": True,
        "won": False,
        "claim_until_ms": None,
        "order_id": None,
    }
    hosts = await ok(gw_client, "GET", f"/api/shows/{ROOM}/giveaways")
    assert len(hosts["giveaways"]) == 2
    missing = await gw_client.get("/api/giveaways/12345")
    assert (missing.status, (await missing.json())["error"]["code"]) == (404, "unknown_giveaway")


async def test_a_goals_giveaway_reward_starts_one_giveaway_however_often_it_is_started(
    gw_client: Client,
) -> None:
    """Guards against a retried goal reward (its process died after starting it) starting a
    second giveaway."""
    from server.appkeys import GOAL_REWARDS, SHOWS
    from server.errors import Invalid

    rewards = gw_client.app[GOAL_REWARDS]
    assert "giveaway" in rewards.kinds()
    with pytest.raises(Invalid) as refused:
        rewards.check({"kind": "giveaway", "title": "Mug", "sku": "MUG", "prizes": 101})
    assert refused.value.code == "out_of_range"
    show = await gw_client.app[SHOWS].require(ROOM, "test-host")
    spec = {"kind": "giveaway", "title": "Gift", "sku": "GIFT", "prizes": 2, "reward_id": "t1"}
    await asyncio.gather(*(rewards.start(show, spec) for _ in range(5)))
    listed = await (await gw_client.get(f"/api/rooms/{ROOM}/giveaways")).json()
    [giveaway] = listed["giveaways"]
    assert (giveaway["title"], giveaway["prizes"], giveaway["state"]) == ("Gift", 2, "open")
