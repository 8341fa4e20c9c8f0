"""Every answer of a giveaway's life, from creation to a redraw, against the schema the API
description gives it: a field added to an answer and not to its shape fails here."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from server.api.openapi import ADDRESS

from .giveaway_helpers import ROOM, SHIPPING, drawn, end_claim_window, end_window
from .helpers import HOST, viewer
from .room_helpers import Client
from .test_openapi import answer_schema, validate

pytest_plugins = ["tests.giveaway_fixtures"]


async def test_real_answers_of_a_giveaway_match_the_description(
    gw_client: Client, redis: Redis
) -> None:
    description = await (await gw_client.get(ADDRESS)).json()
    seen: list[tuple[str, int]] = []

    async def call(method: str, path: str, template: str, **kwargs: Any) -> Any:
        resp = await gw_client.request(method, path, **kwargs)
        body = await resp.json()
        validate(description, answer_schema(description, method, template, resp.status), body)
        seen.append((template, resp.status))
        return body

    shows = f"/api/shows/{ROOM}/giveaways"
    one = "/api/shows/{room_id}/giveaways/{giveaway_id}"
    body = {"title": "Mug", "sku": "MUG", "prizes": 2, "start": False}
    draft = await call("POST", shows, "/api/shows/{room_id}/giveaways", json=body, headers=HOST)
    gid = draft["giveaway_id"]
    await call("POST", f"{shows}/{gid}/start", one + "/start", headers=HOST)
    await call("GET", shows, "/api/shows/{room_id}/giveaways", headers=HOST)
    entries = f"/api/giveaways/{gid}/entries"
    for user in ("ann", "bob", "cy", "ann"):
        await call("POST", entries, "/api/giveaways/{giveaway_id}/entries", headers=viewer(user))
    room = f"/api/rooms/{ROOM}/giveaways"
    await call("GET", room, "/api/rooms/{room_id}/giveaways")
    await call("GET", room, "/api/rooms/{room_id}/giveaways", headers=viewer("ann"))
    await call("GET", f"/api/giveaways/{gid}/draw", "/api/giveaways/{giveaway_id}/draw")
    await end_window(redis, gid)
    view = await drawn(gw_client, gid)
    await call("GET", f"/api/giveaways/{gid}", "/api/giveaways/{giveaway_id}")
    await call("GET", f"/api/giveaways/{gid}/draw", "/api/giveaways/{giveaway_id}/draw")
    claim = f"/api/giveaways/{gid}/claim"
    winner = viewer(view["winners"][0]["user_id"])
    for _ in range(2):
        await call(
            "POST", claim, "/api/giveaways/{giveaway_id}/claim", json=SHIPPING, headers=winner
        )
    loser = next(
        u for u in ("ann", "bob", "cy") if u not in {w["user_id"] for w in view["winners"]}
    )
    await call(
        "POST", claim, "/api/giveaways/{giveaway_id}/claim", json=SHIPPING, headers=viewer(loser)
    )
    await call("POST", f"{shows}/{gid}/redraw", one + "/redraw", headers=HOST)
    await end_claim_window(redis, gid)
    await call("POST", f"{shows}/{gid}/redraw", one + "/redraw", headers=HOST)
    await call("POST", entries, "/api/giveaways/{giveaway_id}/entries", headers=viewer("dan"))
    assert {status for _, status in seen} == {200, 201, 403, 409}
