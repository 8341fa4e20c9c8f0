"""The service unchanged against a 3-master Redis Cluster: storms, rooms, hosts, orders.

Every key of an offer carries ``{offer:ID}`` and every key of a room ``{room:ID}``, so each
script runs on one shard; room events travel on sharded pub/sub. A CROSSSLOT error or a
lost event anywhere here would fail these tests.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server.app import create_app
from server.settings import Settings
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys, bucket_id

from . import test_storm
from .helpers import (
    HOST,
    HOST_ID,
    HOST_PASSWORD,
    assert_consistent,
    create_live_offer,
    open_offer,
    viewer,
)
from .room_helpers import Event, ask, ask_until, events_until, of_type, send
from .test_buckets import users_of_bucket
from .test_rooms import token

pytestmark = pytest.mark.slow


async def test_cluster_has_three_masters(cluster_redis: Redis) -> None:
    info = await cluster_redis.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
    assert info["cluster_state"] == "ok"
    assert info["cluster_size"] == "3"


@pytest.mark.parametrize("buckets", [1, 6], ids=["one-slot", "6-buckets"])
async def test_2000_buyers_against_100_units_on_the_cluster(
    cluster_app_settings: Settings, cluster_redis: Redis, buckets: int
) -> None:
    await test_storm.test_2000_buyers_against_100_units_hold_exactly_100(
        cluster_app_settings, cluster_redis, buckets
    )


@pytest.mark.parametrize("buckets", [1, 6], ids=["one-slot", "6-buckets"])
async def test_multi_unit_storm_on_the_cluster_puts_every_order_in_kafka(
    cluster_app_settings: Settings, cluster_redis: Redis, buckets: int
) -> None:
    await (
        test_storm.test_multi_unit_storm_with_limit_3_never_oversells_and_every_order_reaches_kafka(
            cluster_app_settings, cluster_redis, buckets
        )
    )


async def test_an_empty_bucket_takes_units_from_buckets_on_other_shards(
    cluster_redis: Redis, cluster_app_settings: Settings
) -> None:
    """Every buyer's home is bucket 0, so all but its own share of the units must move
    there from buckets on other masters, each move three scripts on two shards."""
    keeper = StockKeeper(cluster_redis, cluster_app_settings.stock)
    await keeper.start()
    try:
        offer_id = await open_offer(keeper, stock=30, buckets=6)
        buyers = users_of_bucket(0, 6, 40)
        answers = await asyncio.gather(
            *(keeper.reserve(offer_id, user, 1, "press-1") for user in buyers)
        )
        assert Counter(a.outcome for a in answers) == {"reserved": 30, "sold_out": 10}
        assert keeper.buckets.units_moved >= 25
        masters = {
            cluster_redis.get_node_from_key(OfferKeys(bucket_id(offer_id, i)).offer).port  # type: ignore[attr-defined]
            for i in range(6)
        }
        assert len(masters) >= 2
        assert await assert_consistent(cluster_redis, offer_id) == {
            "total": 30,
            "available": 0,
            "held": 30,
            "sold": 0,
        }
    finally:
        await keeper.close()


def answers(request_id: str) -> Callable[[Event], bool]:
    """Accepts the answer to the message sent with ``request_id``."""
    return lambda event: event.get("request_id") == request_id


@pytest.fixture
async def two_servers(
    cluster_app_settings: Settings, cluster_redis: Redis
) -> AsyncIterator[list[str]]:
    """Two app instances (as two server processes would be) over the cluster."""
    servers = [TestServer(create_app(cluster_app_settings)) for _ in range(2)]
    for server in servers:
        await server.start_server()
    yield [str(server.make_url("")).rstrip("/") for server in servers]
    for server in servers:
        await server.close()


async def test_rooms_flags_and_hosts_work_across_servers_on_the_cluster(
    two_servers: list[str], cluster_redis: Redis
) -> None:
    a, b = two_servers
    # unsafe: keep cookies of a bare IP address such as 127.0.0.1.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        # A host signs in with a password (session and CSRF token kept in the cluster).
        async with session.post(
            f"{a}/api/host/login", json={"host_id": HOST_ID, "password": HOST_PASSWORD}
        ) as resp:
            assert resp.status == 200
            csrf = (await resp.json())["csrf_token"]
        async with session.post(
            f"{a}/api/shows",
            json={"room_id": "c-room", "title": "Cluster show"},
            headers={"X-CSRF-Token": csrf},
        ) as resp:
            assert resp.status == 201

        sockets = [
            await session.ws_connect(f"{base}/rooms/c-room/live", params={"token": token(user)})
            for base, user in ((a, "ann"), (b, "bob"))
        ]
        for ws in sockets:
            await events_until(ws, of_type("snapshot"))
        # Each line is acknowledged before the next is sent (so "from a" is first), and what a
        # socket receives before its acknowledgement is kept: the line's own broadcast may
        # overtake the acknowledgement on a busy machine.
        before_ack: list[list[Event]] = []
        for ws, text in zip(sockets, ("from a", "from b"), strict=True):
            await send(ws, "chat", text=text, request_id=f"chat-{text}")
            before_ack.append(await events_until(ws, answers(f"chat-{text}")))
            assert before_ack[-1][-1]["type"] == "chat_ack"
        async with session.post(
            f"{b}/api/rooms/c-room/announcements", json={"text": "hello all"}, headers=HOST
        ) as resp:
            assert resp.status == 201
        orders = []
        for ws, acked in zip(sockets, before_ack, strict=True):
            seen = acked + await events_until(ws, of_type("announcement"))
            orders.append(
                [(e["type"], e.get("text")) for e in seen if e["type"] in ("chat", "announcement")]
            )
        assert (
            orders[0]
            == orders[1]
            == [
                ("chat", "from a"),
                ("chat", "from b"),
                ("announcement", "hello all"),
            ]
        )

        # One unit, sold through server A: server B says sold out, until A's buyer cancels.
        offer_id = await create_live_offer(session, a, stock=1)
        async with session.post(
            f"{a}/api/offers/{offer_id}/reservations",
            json={"idempotency_key": "press-ann-0001"},
            headers=viewer("ann"),
        ) as resp:
            hold_id = (await resp.json())["hold"]["hold_id"]
        refused = await ask(
            sockets[1], "reserve", offer_id=offer_id, quantity=1, idempotency_key="press-bob-0001"
        )
        assert refused["error"]["code"] == "sold_out"
        async with session.post(f"{a}/api/holds/{hold_id}/cancel", headers=viewer("ann")) as resp:
            assert resp.status == 200
        # The other process hears of the returned unit over pub/sub within milliseconds;
        # well before its own sold-out flag would lapse by age (1 s).
        again = await ask_until(
            sockets[1],
            lambda answer: answer.get("outcome") == "reserved",
            0.8,
            "reserve",
            offer_id=offer_id,
            quantity=1,
            idempotency_key="press-bob-0002",
        )
        assert again["outcome"] == "reserved"
        assert (await assert_consistent(cluster_redis, offer_id))["held"] == 1
        for ws in sockets:
            await ws.close()
