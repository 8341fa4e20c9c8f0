"""My orders naming the holds the page was just answered (``GET /api/me/orders?hold=``): a
new hold's record reaches its buyer's index behind its answer, from the process that
answered, so a read on another process lists it only when it names it (docs/api.md)."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from server.appkeys import KEEPER, ORDERS
from server.orders.keys import purchases
from stockkeeper.recorder import NoRecorder

from .helpers import viewer
from .room_helpers import Client
from .test_my_orders import live_offer, my_orders, reserve

pytest_plugins = ["tests.room_fixtures"]


async def orders_named(client: Client, user: str, *hold_ids: str) -> Any:
    """A read of My orders naming holds the page was just answered (``?hold=``)."""
    query = [("hold", hold_id) for hold_id in hold_ids]
    resp = await client.get("/api/me/orders", params=query, headers=viewer(user))
    return resp.status, await resp.json()


async def test_a_hold_just_answered_by_another_process_is_listed_when_the_page_names_it(
    room_client: Client,
) -> None:
    """Guards My orders missing the hold the buyer was answered a moment ago (with two
    processes, tests/test_my_orders_two_processes.py): the process that answered writes
    the record behind its answer, and this one cannot hurry it. Named, the hold is listed at
    once, and stays listed."""
    keeper, ledger = room_client.app[KEEPER], room_client.app[ORDERS]
    mug = await live_offer(room_client, "show-1", title="Mug")
    keeper.recorder = NoRecorder()  # the other process: its record is still on the way
    fresh = (await reserve(room_client, "ann", mug, key="press-fresh-1"))["hold"]
    keeper.recorder = ledger
    assert await my_orders(room_client, "ann") == []

    status, body = await orders_named(room_client, "ann", fresh["hold_id"])

    assert status == 200
    assert [(o["hold_id"], o["title"], o["state"]) for o in body["orders"]] == [
        (fresh["hold_id"], "Mug", "held")
    ]
    assert [o["hold_id"] for o in await my_orders(room_client, "ann")] == [fresh["hold_id"]]
    status, again = await orders_named(room_client, "ann", fresh["hold_id"])
    assert again == body  # named once more: listed once


async def test_somebody_elses_hold_named_is_neither_listed_nor_recorded(
    room_client: Client, redis: Redis
) -> None:
    """Guards a read that names another buyer's hold: it must not show it, nor put it in the
    reader's own index (an unknown hold id alike)."""
    mug = await live_offer(room_client, "show-1")
    anns = (await reserve(room_client, "ann", mug, key="press-anns-1"))["hold"]

    status, body = await orders_named(room_client, "bob", anns["hold_id"], f"{mug}-{'0' * 16}")

    assert (status, body) == (200, {"orders": []})
    assert await redis.exists(purchases("bob")) == 0
    assert [o["hold_id"] for o in await my_orders(room_client, "ann")] == [anns["hold_id"]]


@pytest.mark.parametrize(
    "named",
    [["not-a-hold"], ["1-00000000000000zz"], [f"1-{n:016x}" for n in range(21)]],
    ids=["not a hold id", "not hex", "more than 20"],
)
async def test_holds_named_that_cannot_be_holds_are_refused_as_invalid_field(
    room_client: Client, named: list[str]
) -> None:
    """Guards a bad ``hold`` answered as a server error or silently ignored: it is the
    caller's mistake, said with the API's stable code and the field's name."""
    status, body = await orders_named(room_client, "ann", *named)
    assert status == 400
    assert body["error"]["code"] == "invalid_field"
    assert body["error"]["field"] == "hold"
