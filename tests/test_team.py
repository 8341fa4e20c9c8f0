"""A show's team: the owner adds moderators and operators; each role may do what its rights
say and is refused the rest (403 with a code); every host action is audited."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.hosts.accounts import HostAccounts

from .helpers import HOST, HOST_ID
from .test_http_api import error_code

Client = TestClient[web.Request, web.Application]

PRODUCT = {
    "sku": "MUG-1",
    "title": "Mug",
    "unit_price": 1500,
    "currency": "EUR",
    "stock": 10,
    "per_user_limit": 2,
    "countdown_seconds": 0,
    "window_seconds": 600,
}


async def host_account(redis: Redis, host_id: str) -> dict[str, str]:
    """A host account of its own, and the headers of its API token."""
    accounts = HostAccounts(redis)
    await accounts.create(host_id, "another long password")
    return {"Authorization": f"Bearer {await accounts.mint_api_token(host_id, 'tests')}"}


async def show_with_team(client: Client, redis: Redis) -> dict[str, Any]:
    """Show ``show-a`` of the test host, with ``mod`` as moderator and ``op`` as operator,
    and ``out``, a host on no team; the headers of each, and the show's offer id."""
    resp = await client.post(
        "/api/shows",
        json={"room_id": "show-a", "title": "Spring sale", "products": [PRODUCT]},
        headers=HOST,
    )
    assert resp.status == 201, await resp.text()
    offer_id = (await resp.json())["offers"][0]["id"]
    people = {name: await host_account(redis, name) for name in ("mod", "op", "out", "extra")}
    for name, role in (("mod", "moderator"), ("op", "operator")):
        resp = await client.put(f"/api/shows/show-a/team/{name}", json={"role": role}, headers=HOST)
        assert resp.status == 200, await resp.text()
    return {"owner": HOST, **people, "offer_id": offer_id}


#: (what, method, path, body) of each host action, with who may do it.
ACTIONS: list[tuple[str, str, str, Any, set[str]]] = [
    ("dashboard", "GET", "/api/shows/show-a", None, {"owner", "op", "mod"}),
    ("slow mode", "POST", "/api/rooms/show-a/slow-mode", {"seconds": 5}, {"owner", "op", "mod"}),
    ("announce", "POST", "/api/rooms/show-a/announcements", {"text": "Hi"}, {"owner", "op", "mod"}),
    ("mute", "POST", "/api/rooms/show-a/mutes", {"user_id": "troll"}, {"owner", "op", "mod"}),
    ("ban", "POST", "/api/rooms/show-a/bans", {"user_id": "troll"}, {"owner", "op", "mod"}),
    (
        "blocked words",
        "PUT",
        "/api/rooms/show-a/blocked-words",
        {"words": ["spam"]},
        {"owner", "op", "mod"},
    ),
    ("go live", "POST", "/api/shows/show-a/live", {}, {"owner", "op"}),
    ("add product", "POST", "/api/shows/show-a/products", PRODUCT, {"owner", "op"}),
    (
        "pin offer",
        "POST",
        "/api/rooms/show-a/pinned-offer",
        {"offer_id": "$offer"},
        {"owner", "op"},
    ),
    ("restock", "POST", "/api/offers/$offer/restock", {"quantity": 2}, {"owner", "op"}),
    ("pull", "POST", "/api/offers/$offer/pull", {"quantity": 1}, {"owner", "op"}),
    ("launch", "POST", "/api/shows/show-a/offers/$offer/launch", {}, {"owner", "op"}),
    ("pause", "POST", "/api/offers/$offer/pause", {}, {"owner", "op"}),
    ("team", "GET", "/api/shows/show-a/team", None, {"owner"}),
    ("audit", "GET", "/api/shows/show-a/audit", None, {"owner"}),
    ("add to team", "PUT", "/api/shows/show-a/team/extra", {"role": "moderator"}, {"owner"}),
    ("remove from team", "DELETE", "/api/shows/show-a/team/extra", None, {"owner"}),
    ("end", "POST", "/api/shows/show-a/end", {}, {"owner"}),
    ("report", "GET", "/api/shows/show-a/report.json", None, {"owner"}),
    ("report csv", "GET", "/api/shows/show-a/report.csv", None, {"owner"}),
]


async def test_each_role_may_do_what_its_rights_say_and_is_refused_the_rest(
    client: Client, redis: Redis
) -> None:
    team = await show_with_team(client, redis)
    offer_id = team["offer_id"]
    for what, method, path, body, allowed in ACTIONS:
        path = path.replace("$offer", offer_id)
        if isinstance(body, dict):
            body = {
                k: v.replace("$offer", offer_id) if v == "$offer" else v for k, v in body.items()
            }
        # The refused go first, so an allowed action never prepares the next refusal.
        for who in ("out", "mod", "op", "owner"):
            if who in allowed:
                continue
            resp = await client.request(method, path, json=body, headers=team[who])
            assert resp.status == 403, (what, who, resp.status, await resp.text())
            expected = "not_your_room" if who == "out" else "role_forbids"
            assert await error_code(resp) == expected, (what, who)
        # The first allowed caller does it; after it, the others may meet a state conflict
        # (launching twice), never a refusal.
        callers = [who for who in ("mod", "op", "owner") if who in allowed]
        for n, who in enumerate(callers):
            resp = await client.request(method, path, json=body, headers=team[who])
            ok = resp.status < 300 if n == 0 else resp.status != 403
            assert ok, (what, who, resp.status, await resp.text())


async def test_the_host_list_and_the_dashboard_say_the_callers_role_and_rights(
    client: Client, redis: Redis
) -> None:
    team = await show_with_team(client, redis)
    listed = await (await client.get("/api/shows", headers=team["mod"])).json()
    assert [(s["room_id"], s["role"]) for s in listed["shows"]] == [("show-a", "moderator")]
    assert listed["shows"][0]["rights"] == ["moderate_chat", "view_numbers"]
    figures = await (await client.get("/api/shows/show-a", headers=team["op"])).json()
    assert figures["role"] == "operator"
    assert set(figures["rights"]) == {"view_numbers", "moderate_chat", "run_offers", "go_live"}
    mine = await (await client.get("/api/shows", headers=HOST)).json()
    assert mine["shows"][0]["role"] == "owner"
    assert "manage_team" in mine["shows"][0]["rights"]
    # Off the team, off the list.
    resp = await client.delete("/api/shows/show-a/team/mod", headers=HOST)
    assert resp.status == 204
    listed = await (await client.get("/api/shows", headers=team["mod"])).json()
    assert listed["shows"] == []
    resp = await client.get("/api/shows/show-a", headers=team["mod"])
    assert await error_code(resp) == "not_your_room"


async def test_the_team_is_listed_for_the_owner_and_roles_can_change(
    client: Client, redis: Redis
) -> None:
    await show_with_team(client, redis)
    resp = await client.put("/api/shows/show-a/team/mod", json={"role": "operator"}, headers=HOST)
    assert (await resp.json())["role"] == "operator"
    team = await (await client.get("/api/shows/show-a/team", headers=HOST)).json()
    assert team["owner"] == HOST_ID
    assert [(m["host_id"], m["role"]) for m in team["members"]] == [
        ("mod", "operator"),
        ("op", "operator"),
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/shows/show-a/team/nobody", {"role": "moderator"}, 404, "unknown_host"),
        (f"/api/shows/show-a/team/{HOST_ID}", {"role": "moderator"}, 409, "owner_not_member"),
        ("/api/shows/show-a/team/mod", {"role": "owner"}, 400, "invalid_field"),
        ("/api/shows/show-a/team/mod", {"role": "moderator", "x": 1}, 400, "unknown_field"),
        ("/api/shows/nowhere/team/mod", {"role": "moderator"}, 404, "unknown_show"),
    ],
)
async def test_bad_team_changes_are_refused_with_a_code(
    client: Client, redis: Redis, path: str, body: Any, status: int, code: str
) -> None:
    await show_with_team(client, redis)
    resp = await client.put(path, json=body, headers=HOST)
    assert resp.status == status, await resp.text()
    assert await error_code(resp) == code
    resp = await client.delete("/api/shows/show-a/team/out", headers=HOST)
    assert await error_code(resp) == "not_on_team"


async def test_every_host_action_is_audited_with_who_did_it_and_lands_in_the_report(
    client: Client, redis: Redis
) -> None:
    team = await show_with_team(client, redis)
    offer_id = team["offer_id"]
    await client.post("/api/rooms/show-a/mutes", json={"user_id": "troll"}, headers=team["mod"])
    await client.post("/api/shows/show-a/live", json={}, headers=team["op"])
    await client.post(f"/api/offers/{offer_id}/restock", json={"quantity": 3}, headers=team["op"])
    # Refused and read-only requests are not actions.
    await client.post("/api/shows/show-a/end", json={}, headers=team["op"])
    await client.get("/api/shows/show-a", headers=team["mod"])
    entries = (await (await client.get("/api/shows/show-a/audit", headers=HOST)).json())["entries"]
    done = [(e["host_id"], e["role"], e["action"]) for e in entries]
    assert done == [
        (HOST_ID, "owner", "put_member"),
        (HOST_ID, "owner", "put_member"),
        ("mod", "moderator", "mute"),
        ("op", "operator", "go_live"),
        ("op", "operator", "restock"),
    ]
    assert entries[2]["detail"] == {"room_id": "show-a", "body": {"user_id": "troll"}}
    assert entries[4]["detail"]["offer_id"] == offer_id
    resp = await client.post("/api/shows/show-a/end", json={}, headers=HOST)
    section = (await resp.json())["sections"]["audit"]
    assert section["owner"] == HOST_ID
    assert section["team"] == [
        {"host_id": "mod", "role": "moderator"},
        {"host_id": "op", "role": "operator"},
    ]
    # The end itself is logged after the report is frozen: the report lists what came before.
    assert [e["action"] for e in section["entries"]][-1] == "restock"
