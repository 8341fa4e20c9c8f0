"""My orders: every hold and order of a buyer across shows, the units they may still buy,
and fulfilment's status events applied in order (real Redis; Kafka in test_order_status)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import orjson
import pytest
from redis.asyncio import Redis

from server.api.my_orders import MyOrders, MyRoomOffers
from server.appkeys import KEEPER, ORDERS, ROOM_PUBLISHER
from server.orders.keys import purchases
from server.orders.status import StatusUpdates, at_ms
from stockkeeper.errors import StockUnavailable
from stockkeeper.keys import OfferKeys
from stockkeeper.recorder import BuyerRecord, NoRecorder
from stockkeeper.status_reports import status_event
from stockkeeper.sweeper import sweep_once

from .helpers import viewer
from .room_helpers import Client, Connect, create_offer, events_until, host, of_type, open_now

pytest_plugins = ["tests.room_fixtures"]


async def reserve(
    client: Client, user: str, offer_id: str, quantity: int = 1, key: str = ""
) -> Any:
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        json={
            "quantity": quantity,
            "idempotency_key": key or f"press-{user}-{offer_id}-{quantity}",
        },
        headers=viewer(user),
    )
    assert resp.status in (200, 201), await resp.text()
    return await resp.json()


async def pay(client: Client, user: str, hold_id: str) -> Any:
    resp = await client.post(
        f"/api/holds/{hold_id}/confirm",
        json={"payment_ref": f"psp-{hold_id}"},
        headers=viewer(user),
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def my_orders(client: Client, user: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/me/orders", headers=viewer(user))
    assert resp.status == 200, await resp.text()
    msgspec.json.decode(await resp.read(), type=MyOrders)  # the answer is as described
    orders: list[dict[str, Any]] = (await resp.json())["orders"]
    return orders


async def live_offer(client: Client, room: str, stock: int = 5, **fields: Any) -> str:
    offer = await create_offer(client, stock=stock, room_id=room, **fields)
    await open_now(client, offer["id"])
    return str(offer["id"])


def event(order_id: str, status: str, at: str, **fields: Any) -> bytes:
    body = {"schema": "livesale.order_status", "schema_version": 1, "order_id": order_id}
    return orjson.dumps({**body, "status": status, "at": at, **fields})


# ------------------------------------------------------------------ my orders


async def test_my_orders_lists_holds_and_orders_of_every_show_newest_first(
    room_client: Client,
) -> None:
    mug = await live_offer(room_client, "show-1", title="Mug", per_user_limit=3)
    lamp = await live_offer(room_client, "show-2", title="Lamp", unit_price=2500)
    paid = (await reserve(room_client, "ann", mug, 2))["hold"]
    await pay(room_client, "ann", paid["hold_id"])
    held = (await reserve(room_client, "ann", lamp))["hold"]
    await reserve(room_client, "bob", lamp)

    orders = await my_orders(room_client, "ann")

    assert [(o["room_id"], o["title"], o["state"], o["quantity"]) for o in orders] == [
        ("show-2", "Lamp", "held", 1),
        ("show-1", "Mug", "paid", 2),
    ]
    assert orders[0]["pay_by_ms"] == held["pay_by_ms"]
    assert orders[0]["order_id"] is None
    assert orders[1]["order_id"] == f"o{paid['hold_id']}"
    assert orders[1]["carrier"] is None
    assert orders[1]["unit_price"] == 500
    assert [o["title"] for o in await my_orders(room_client, "bob")] == ["Lamp"]
    assert await my_orders(room_client, "nobody") == []


async def test_a_cancelled_hold_stays_listed_as_cancelled(room_client: Client) -> None:
    mug = await live_offer(room_client, "show-1")
    hold = (await reserve(room_client, "ann", mug))["hold"]
    resp = await room_client.post(
        f"/api/holds/{hold['hold_id']}/cancel", json={}, headers=viewer("ann")
    )
    assert resp.status == 200
    assert [o["state"] for o in await my_orders(room_client, "ann")] == ["cancelled"]


async def test_a_retried_press_lists_its_hold_once(room_client: Client, redis: Redis) -> None:
    """Guards the crash window: the retry of a press re-records its hold (a replay), and
    records of one hold never make two entries."""
    mug = await live_offer(room_client, "show-1")
    first = await reserve(room_client, "ann", mug, key="press-retried-1")
    await redis.delete(purchases("ann"))  # as if the process died before recording it
    again = await reserve(room_client, "ann", mug, key="press-retried-1")
    assert again["replayed"]
    assert again["hold"]["hold_id"] == first["hold"]["hold_id"]
    await pay(room_client, "ann", first["hold"]["hold_id"])
    assert [o["state"] for o in await my_orders(room_client, "ann")] == ["paid"]


async def test_a_press_retried_while_sold_out_lists_its_hold_again(
    room_client: Client, redis: Redis
) -> None:
    """Guards the same crash window on the sold-out fast path: the replay that answers a
    retry while the offer is sold out records the hold too."""
    mug = await live_offer(room_client, "show-1", stock=1)
    first = await reserve(room_client, "ann", mug, key="press-sold-out-1")
    await redis.delete(purchases("ann"))  # as if the process died before recording it
    resp = await room_client.post(
        f"/api/offers/{mug}/reservations",
        json={"idempotency_key": "press-bob-00001"},
        headers=viewer("bob"),
    )
    assert (await resp.json())["error"]["code"] == "sold_out"
    again = await reserve(room_client, "ann", mug, key="press-sold-out-1")
    assert again["hold"]["hold_id"] == first["hold"]["hold_id"]
    assert [o["state"] for o in await my_orders(room_client, "ann")] == ["held"]


async def test_a_new_hold_is_written_behind_its_answer_and_leaves_no_record_behind(
    room_client: Client, redis: Redis
) -> None:
    """The press does not wait for the buyer's index: the reserve script left the hold's
    record in the offer's records stream, the ledger writes it behind the answer and
    deletes the entry in its next pass (stockkeeper/recorder.py, write_behind.py)."""
    mug = await live_offer(room_client, "show-1")
    first = await reserve(room_client, "ann", mug, key="press-behind-1")
    assert [o["hold_id"] for o in await my_orders(room_client, "ann")] == [first["hold"]["hold_id"]]
    await room_client.app[ORDERS].writer.drain()
    assert await redis.xlen(OfferKeys(mug).records) == 0


async def test_a_new_hold_whose_process_stopped_before_recording_it_is_recorded_by_the_sweeper(
    room_client: Client, redis: Redis
) -> None:
    """The crash window of writing behind: the process answered the press and died before
    its ledger wrote the record. The entry is still in the offer's records stream, and the
    sweeper (any process) records it; a second sweep finds nothing."""
    keeper, ledger = room_client.app[KEEPER], room_client.app[ORDERS]
    mug = await live_offer(room_client, "show-1")
    keeper.recorder = NoRecorder()  # the dying process: it never writes the record
    lost = await keeper.reserve(mug, "ann", 1, "press-lost-1")
    keeper.recorder = ledger
    assert await my_orders(room_client, "ann") == []
    assert await redis.xlen(OfferKeys(mug).records) == 1
    assert await keeper.record_left_over(mug, older_than_s=60) == 0  # too fresh to be lost
    assert await keeper.record_left_over(mug, older_than_s=0) == 1
    assert [o["hold_id"] for o in await my_orders(room_client, "ann")] == [lost.hold_id]
    assert await redis.xlen(OfferKeys(mug).records) == 0
    assert await sweep_once(keeper) == 0


async def test_a_redis_refusal_of_the_write_behind_leaves_the_record_for_the_sweeper(
    room_client: Client, redis: Redis
) -> None:
    keeper, ledger = room_client.app[KEEPER], room_client.app[ORDERS]
    mug = await live_offer(room_client, "show-1")

    async def refused(records: Any) -> None:
        raise StockUnavailable("Redis did not answer: connection refused")

    ledger.scripts.record_all = refused  # type: ignore[method-assign]
    held = await keeper.reserve(mug, "ann", 1, "press-refused-1")
    assert await my_orders(room_client, "ann") == []  # the write behind was refused
    del ledger.scripts.record_all  # Redis is back
    assert await redis.xlen(OfferKeys(mug).records) == 1
    assert await keeper.record_left_over(mug, older_than_s=0) == 1
    assert [o["hold_id"] for o in await my_orders(room_client, "ann")] == [held.hold_id]


async def test_reading_my_orders_waits_for_the_holds_noted_before_not_for_a_sale_going_on(
    room_client: Client,
) -> None:
    """A buyer's read waits for the records noted before it; presses keep coming in a sale,
    and a read that waited for the writer to run dry would wait for the whole sale."""
    ledger = room_client.app[ORDERS]
    first_batch, later_batches, taken = asyncio.Event(), asyncio.Event(), asyncio.Event()
    batches: list[int] = []

    async def slow(records: Any) -> None:
        batches.append(len(records))
        taken.set()
        await (first_batch if len(batches) == 1 else later_batches).wait()

    ledger.scripts.record_all = slow  # type: ignore[method-assign]
    try:
        ledger.noted(BuyerRecord("ann", "h-1", 1), ("ls:test:records", "1-0"))
        first_reader = asyncio.create_task(ledger.hold_ids("ann"))  # hurries the writer
        async with asyncio.timeout(5):
            await taken.wait()  # the writer takes the first batch
        reader = asyncio.create_task(ledger.hold_ids("ann"))
        await asyncio.sleep(0)
        ledger.noted(BuyerRecord("bob", "h-2", 2), ("ls:test:records", "2-0"))
        first_batch.set()
        async with asyncio.timeout(5):
            await first_reader
            await reader  # done with the second batch not written
        assert batches[0] == 1  # the first pass held ann's record alone
    finally:
        later_batches.set()
        del ledger.scripts.record_all


async def test_my_orders_needs_a_viewer_token(room_client: Client) -> None:
    resp = await room_client.get("/api/me/orders")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "token_required"


# ------------------------------------------------------------------ units per offer


async def test_the_units_a_viewer_holds_or_bought_per_offer_of_the_room(
    room_client: Client,
) -> None:
    mug = await live_offer(room_client, "show-1", per_user_limit=3)
    lamp = await live_offer(room_client, "show-1", per_user_limit=1, buckets=2)
    await live_offer(room_client, "show-2")
    hold = (await reserve(room_client, "ann", mug, 2))["hold"]
    await pay(room_client, "ann", hold["hold_id"])
    await reserve(room_client, "ann", lamp)

    resp = await room_client.get("/api/me/rooms/show-1/offers", headers=viewer("ann"))
    assert resp.status == 200
    msgspec.json.decode(await resp.read(), type=MyRoomOffers)  # the answer is as described
    assert (await resp.json())["offers"] == [
        {"offer_id": mug, "per_user_limit": 3, "units_already": 2},
        {"offer_id": lamp, "per_user_limit": 1, "units_already": 1},
    ]
    resp = await room_client.get("/api/me/rooms/show-1/offers", headers=viewer("bob"))
    assert [o["units_already"] for o in (await resp.json())["offers"]] == [0, 0]
    resp = await room_client.get("/api/me/rooms/no%20such/offers", headers=viewer("bob"))
    assert (resp.status, (await resp.json())["error"]["code"]) == (404, "unknown_room")


# ------------------------------------------------------------------ status events


@pytest.fixture
async def paid_order(room_client: Client) -> str:
    mug = await live_offer(room_client, "show-1")
    hold = (await reserve(room_client, "ann", mug))["hold"]
    return str((await pay(room_client, "ann", hold["hold_id"]))["order_id"])


async def test_status_events_move_an_order_forward_and_never_back(
    room_client: Client, connect: Connect, paid_order: str
) -> None:
    app = room_client.app
    updates = StatusUpdates(app[ORDERS].scripts, app[ROOM_PUBLISHER])
    ann = await connect("ann")
    shipped = event(paid_order, "shipped", "2026-11-21T19:00:00Z", carrier="DHL", tracking="T1")

    outcomes = [
        (await updates.handle(raw)).outcome
        for raw in (
            shipped,
            shipped,  # a duplicate
            event(paid_order, "delivered", "2026-11-22T10:00:00+01:00"),
            event(paid_order, "shipped", "2026-11-21T20:00:00Z", tracking="T2"),  # stale
        )
    ]

    assert outcomes == ["applied", "duplicate", "applied", "stale"]
    [order] = await my_orders(room_client, "ann")
    assert (order["state"], order["carrier"], order["tracking"]) == ("delivered", "DHL", "T1")
    assert order["status_at_ms"] == at_ms("2026-11-22T09:00:00Z")
    pushed = [
        e
        for e in await events_until(ann, of_type("order_status", status="delivered"))
        if e["type"] == "order_status"
    ]
    assert [(e["status"], e["order_id"], e["tracking"]) for e in pushed] == [
        ("shipped", paid_order, "T1"),
        ("delivered", paid_order, "T1"),
    ]


async def test_a_delivered_that_overtakes_its_shipped_keeps_delivered_and_gains_tracking(
    room_client: Client, paid_order: str
) -> None:
    updates = StatusUpdates(room_client.app[ORDERS].scripts, room_client.app[ROOM_PUBLISHER])
    delivered = event(paid_order, "delivered", "2026-11-22T10:00:00Z")
    late_shipped = event(
        paid_order, "shipped", "2026-11-21T19:00:00Z", carrier="UPS", tracking="1Z"
    )
    assert (await updates.handle(delivered)).outcome == "applied"
    assert (await updates.handle(late_shipped)).outcome == "stale"
    [order] = await my_orders(room_client, "ann")
    assert (order["state"], order["carrier"], order["tracking"]) == ("delivered", "UPS", "1Z")


async def test_a_later_event_of_the_same_status_updates_the_tracking_and_refunded_is_last(
    room_client: Client, paid_order: str
) -> None:
    updates = StatusUpdates(room_client.app[ORDERS].scripts, room_client.app[ROOM_PUBLISHER])
    for raw in (
        event(paid_order, "shipped", "2026-11-21T19:00:00Z", carrier="DHL", tracking="T1"),
        event(paid_order, "shipped", "2026-11-21T19:30:00Z", carrier="DHL", tracking="T9"),
        event(paid_order, "refunded", "2026-11-21T18:00:00Z"),
        event(paid_order, "delivered", "2026-11-23T10:00:00Z"),
    ):
        await updates.handle(raw)
    [order] = await my_orders(room_client, "ann")
    assert (order["state"], order["tracking"]) == ("refunded", "T9")


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (b"{not json", "not_json"),
        (b'["a list"]', "invalid"),
        (b'{"schema": "livesale.order_status", "schema_version": 1}', "invalid"),
        (event("o1-00000000000000aa", "shipped", "2026-11-21T19:00:00Z", extra=1), "invalid"),
        (event("o1-00000000000000aa", "shipped", "2026-11-21T19:00:00"), "invalid"),
        (event("o1-00000000000000aa", "shipped", "yesterday"), "invalid"),
        (event("o1-00000000000000aa", "lost_at_sea", "2026-11-21T19:00:00Z"), "unknown_status"),
        (event("o1-00000000000000aa", "shipped", "2026-11-21T19:00:00Z"), "unknown_order"),
        (event("not-an-order", "shipped", "2026-11-21T19:00:00Z"), "unknown_order"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "missing-fields",
        "unknown-field",
        "time-without-zone",
        "not-a-time",
        "unknown-status",
        "unknown-order",
        "not-an-order-id",
    ],
)
async def test_a_bad_status_event_is_an_outcome_not_an_error(
    room_client: Client, raw: bytes, outcome: str
) -> None:
    updates = StatusUpdates(room_client.app[ORDERS].scripts, room_client.app[ROOM_PUBLISHER])
    assert (await updates.handle(raw)).outcome == outcome


async def test_an_event_for_a_hold_not_paid_is_an_unknown_order(room_client: Client) -> None:
    mug = await live_offer(room_client, "show-1")
    hold = (await reserve(room_client, "ann", mug))["hold"]
    updates = StatusUpdates(room_client.app[ORDERS].scripts, room_client.app[ROOM_PUBLISHER])
    raw = orjson.dumps(status_event(f"o{hold['hold_id']}", "shipped", "DHL", "T1"))
    assert (await updates.handle(raw)).outcome == "unknown_order"


async def test_a_group_seat_is_listed_held_then_paid_while_the_group_forms(
    room_client: Client,
) -> None:
    """Group purchases are holds and orders too: the seat's hold, then its payment."""
    offer = await create_offer(room_client, 30, compare_at_price=700, per_user_limit=1)
    await open_now(room_client, offer["id"])
    terms = {"group_price": 350, "group_size": 3, "window_minutes": 10}
    await host(room_client, f"/api/offers/{offer['id']}/group-terms", terms)
    resp = await room_client.post(
        f"/api/offers/{offer['id']}/groups",
        json={"idempotency_key": "start-ann-1"},
        headers=viewer("ann"),
    )
    assert resp.status == 201, await resp.text()
    hold_id = (await resp.json())["hold"]["hold_id"]
    assert [o["state"] for o in await my_orders(room_client, "ann")] == ["held"]
    resp = await room_client.post(
        f"/api/holds/{hold_id}/confirm", json={"payment_ref": "psp-ann"}, headers=viewer("ann")
    )
    assert resp.status == 202, await resp.text()
    [order] = await my_orders(room_client, "ann")
    assert (order["hold_id"], order["state"]) == (hold_id, "paid")
