"""Helpers of the giveaway tests: a giveaway started over the HTTP API, entries, and the
ends of its windows brought forward (Redis's clock cannot be)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.giveaways import keys
from server.giveaways.keys import GiveawayKeys

from .helpers import HOST, viewer, wait_for
from .room_helpers import Client

ROOM = "show-1"


async def ok(client: TestClient[Any, Any], method: str, path: str, body: Any = None) -> Any:
    """A host's request that must succeed; its JSON answer."""
    resp = await client.request(method, path, json=body, headers=HOST)
    assert resp.status < 300, await resp.text()
    return await resp.json()


async def start(client: Client, **fields: Any) -> dict[str, Any]:
    """A giveaway started in show-1 (a mug for one winner, open to anyone, 60 s)."""
    body = {"title": "Red mug", "sku": "MUG-RED", **fields}
    created: dict[str, Any] = await ok(client, "POST", f"/api/shows/{ROOM}/giveaways", body)
    return created


async def enter(client: Client, giveaway_id: str, user_id: str) -> tuple[int, Any]:
    """A viewer's entry over HTTP: status and JSON answer."""
    resp = await client.post(f"/api/giveaways/{giveaway_id}/entries", headers=viewer(user_id))
    return resp.status, await resp.json()


async def end_window(redis: Redis, giveaway_id: str, ago_ms: int = 1) -> None:
    """The entry window ends now (as if its seconds had passed): the checker draws it."""
    time_s, micros = await redis.time()
    now = time_s * 1000 + micros // 1000
    await redis.hset(GiveawayKeys(giveaway_id).giveaway, "ends_at", now - ago_ms)
    await redis.zadd(keys.DUE, {giveaway_id: now - ago_ms})


async def drawn(client: Client, giveaway_id: str, round_: int = 0) -> dict[str, Any]:
    """The giveaway once the checker has drawn round ``round_``."""
    view: dict[str, Any] = {}

    async def is_drawn() -> bool:
        nonlocal view
        view = await (await client.get(f"/api/giveaways/{giveaway_id}")).json()
        return bool(view["state"] == "drawn" and view["round"] >= round_)

    await wait_for(is_drawn, 15, f"giveaway {giveaway_id} to be drawn")
    return view


async def end_claim_window(redis: Redis, giveaway_id: str) -> None:
    """The latest round's claim window is over (as if its 48 hours had passed)."""
    k = GiveawayKeys(giveaway_id)
    round_ = int(await redis.hget(k.giveaway, "round") or 0)
    await redis.hset(k.giveaway, f"claim_until:{round_}", 1)


SHIPPING = {
    "name": "Ada Lovelace",
    "address": "12 Rue de la Paix",
    "city": "Paris",
    "postal_code": "75002",
    "country": "FR",
    "phone": "+33 1 23 45 67 89",
}
