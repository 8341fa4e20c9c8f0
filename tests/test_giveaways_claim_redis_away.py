"""A prize claim when Redis goes away between the claim and its record in the winner's "my
orders" (on a Redis of the test's own, stopped for real at that moment): the winner is told
to try again, and once Redis is back nothing is lost or doubled. The claim stands, the
winner's next look at the giveaway puts the prize back in their orders, the retry answers
with the same order, and fulfilment gets that order once."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from deploy.stack import RedisServer
from server.app import create_app
from server.appkeys import GIVEAWAYS
from server.giveaways.settings import GiveawaySettings
from server.redis_client import connect
from server.room.settings import RoomSettings
from server.settings import Settings
from stockkeeper.audit import read_records

from .giveaway_helpers import ROOM, SHIPPING, drawn, end_window, enter, ok, start
from .helpers import sign_up_test_host_at, viewer, wait_for
from .relay_helpers import drain
from .room_helpers import Client

pytest_plugins = ["tests.giveaway_fixtures"]


async def test_a_claim_whose_record_fails_is_healed_and_reaches_kafka_once(
    aiohttp_client: Any,
    app_settings: Settings,
    giveaway_settings: GiveawaySettings,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stock = dataclasses.replace(app_settings.stock, redis_url=redis_server.url)
    await sign_up_test_host_at(redis_server.url)
    settings = dataclasses.replace(
        app_settings,
        stock=stock,
        giveaways=giveaway_settings,
        room=RoomSettings(batch_window_s=0.02, chat_min_interval_ms=0),
    )
    client: Client = await aiohttp_client(create_app(settings))
    redis = connect(redis_server.url)
    try:
        await ok(client, "POST", "/api/shows", {"room_id": ROOM, "title": "Evening show"})
        await ok(client, "POST", f"/api/shows/{ROOM}/live")
        giveaway_id = (await start(client, prizes=1))["giveaway_id"]
        assert (await enter(client, giveaway_id, "ann"))[0] == 201
        await end_window(redis, giveaway_id)
        [winner] = (await drawn(client, giveaway_id))["winners"]
        assert winner["user_id"] == "ann"

        # Redis stops the moment the claim script has answered, before the record is written.
        giveaways = client.app[GIVEAWAYS]
        claim_script = giveaways.scripts.claim

        async def claim_then_redis_stops(*args: Any) -> Any:
            claimed = await claim_script(*args)
            await asyncio.to_thread(redis_server.stop)
            return claimed

        monkeypatch.setattr(giveaways.scripts, "claim", claim_then_redis_stops)
        path = f"/api/giveaways/{giveaway_id}/claim"
        failed = await client.post(path, json=SHIPPING, headers=viewer("ann"))
        assert failed.status == 503
        assert (await failed.json())["error"]["code"] == "stock_unavailable"
        monkeypatch.setattr(giveaways.scripts, "claim", claim_script)

        await asyncio.to_thread(redis_server.start)

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await wait_for(ready, 15, "the app to see Redis again")
        order_id = f"giveaway-{giveaway_id}-ann"

        async def my_orders() -> list[str]:
            mine = await (await client.get("/api/me/orders", headers=viewer("ann"))).json()
            return [order["order_id"] for order in mine["orders"]]

        assert await my_orders() == []  # the record was lost with Redis
        # The winner's next look at the giveaway shows the claim, and records it again.
        listed = await client.get(f"/api/rooms/{ROOM}/giveaways", headers=viewer("ann"))
        assert (await listed.json())["giveaways"][0]["me"]["order_id"] == order_id
        assert await my_orders() == [order_id]
        # Claiming again answers with the same order, changed in nothing.
        again = await client.post(path, json=SHIPPING, headers=viewer("ann"))
        assert again.status == 200
        body = await again.json()
        assert (body["order_id"], body["replayed"]) == (order_id, True)

        await drain(redis, stock, "relay-prize-away")
        records = await read_records(
            stock.kafka_bootstrap, stock.orders_topic, expected=1, settle_s=1
        )
        assert [r.value["order_id"] for r in records] == [order_id]
    finally:
        await redis.aclose()
