"""Redis restarts: once it answers again, no request fails because of the restart."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.maint_notifications import MaintNotificationsConfig

from deploy.stack import RedisClusterNodes, RedisServer, free_ports
from server.app import create_app
from server.redis_client import connect
from server.room.hub import RoomHub
from server.room.keys import RoomKeys
from server.room.publisher import RoomPublisher
from server.room.settings import RoomSettings
from server.settings import Settings
from stockkeeper.errors import StockUnavailable
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.models import PurchaseNotice
from stockkeeper.settings import StockSettings

from .helpers import create_live_offer, open_offer, sign_up_test_host_at, viewer, wait_for

pytestmark = pytest.mark.slow

#: As many requests at once as the app's pool has connections, so every one is in use.
AT_ONCE = 64


async def one_of_each(
    session: aiohttp.ClientSession, base: str, offer_id: str, n: int, round_: str
) -> int:
    """A request of the mix a sale sends: reads of the offer and of a hold, presses of the
    buy button, payments. Its HTTP status."""
    user = f"buyer-{round_}-{n}"
    match n % 4:
        case 0:
            async with session.get(f"{base}/api/offers/{offer_id}") as resp:
                return resp.status
        case 1:
            body = {"idempotency_key": f"press-{round_}-{n:04}"}
            url = f"{base}/api/offers/{offer_id}/reservations"
            async with session.post(url, json=body, headers=viewer(user)) as resp:
                return resp.status
        case 2:
            url = f"{base}/api/holds/{offer_id}-0000000000000000"
            async with session.get(url, headers=viewer(user)) as resp:
                return resp.status
        case _:
            url = f"{base}/api/holds/{offer_id}-0000000000000000/confirm"
            body = {"payment_ref": f"psp-{round_}-{n}"}
            async with session.post(url, json=body, headers=viewer(user)) as resp:
                return resp.status


async def test_no_request_fails_once_a_restarted_redis_is_ready(
    redis_server: RedisServer, app_settings: Settings
) -> None:
    """Guards against stale pooled connections failing one request each with 503
    stock_unavailable after Redis restarted, though /readyz already said ready."""
    stock = dataclasses.replace(app_settings.stock, redis_url=redis_server.url)
    await sign_up_test_host_at(redis_server.url)
    server = TestServer(create_app(dataclasses.replace(app_settings, stock=stock)))
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            offer_id = await create_live_offer(session, base, stock=1000)

            async def burst(round_: str) -> Counter[int]:
                statuses = await asyncio.gather(
                    *(one_of_each(session, base, offer_id, n, round_) for n in range(AT_ONCE))
                )
                return Counter(statuses)

            warm = await burst("warm")
            assert warm == {200: 16, 201: 16, 404: 32}, warm
            await asyncio.to_thread(redis_server.stop)
            await asyncio.to_thread(redis_server.start)

            async def ready() -> bool:
                async with session.get(f"{base}/readyz") as resp:
                    return resp.status == 200

            await wait_for(ready, 10, "/readyz to say ready")
            after = await burst("after")
            assert after == {200: 16, 201: 16, 404: 32}, after
    finally:
        await server.close()


@pytest.fixture
async def unchecked_keeper(
    redis_server: RedisServer, stock_settings: StockSettings
) -> AsyncIterator[StockKeeper]:
    """A stock keeper over a client that lends pooled connections without looking whether
    Redis closed them (redis-py's default with maintenance notifications on; a cluster
    node's connections are never looked at either)."""
    redis = Redis.from_url(
        redis_server.url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
        maint_notifications_config=MaintNotificationsConfig(enabled="auto"),
    )
    keeper = StockKeeper(redis, dataclasses.replace(stock_settings, redis_url=redis_server.url))
    await keeper.start()
    yield keeper
    await keeper.close()
    await redis.aclose()


async def restart(redis_server: RedisServer) -> None:
    """Stop Redis cleanly (it keeps its data) and start it again."""
    await asyncio.to_thread(redis_server.stop)
    await asyncio.to_thread(redis_server.start)


async def test_purchase_scripts_are_sent_again_when_their_connection_broke(
    unchecked_keeper: StockKeeper, redis_server: RedisServer
) -> None:
    """Guards against a press, a payment or a cancel failing with stock_unavailable on a
    connection Redis closed when it restarted: those scripts are safe to repeat (by
    idempotency key or hold id), so the batcher sends them again on a new connection."""
    keeper = unchecked_keeper
    offer_id = await open_offer(keeper, stock=5, per_user_limit=5)
    first = await keeper.reserve(offer_id, "u1", 1, "press-0001")
    assert first.hold_id
    await restart(redis_server)
    presses = await asyncio.gather(
        *(keeper.reserve(offer_id, f"u{n}", 1, f"press-{n:04}") for n in range(2, 6))
    )
    assert [p.outcome for p in presses] == ["reserved"] * 4
    await restart(redis_server)
    assert (await keeper.confirm(first.hold_id, "u1", "psp-1")).outcome == "confirmed"
    await restart(redis_server)
    assert (await keeper.cancel(str(presses[0].hold_id), "u2")).outcome == "cancelled"
    assert (await keeper.get_offer(offer_id)).held == 3


async def test_a_restock_is_not_sent_twice_when_its_connection_broke(
    unchecked_keeper: StockKeeper, redis_server: RedisServer
) -> None:
    """A restock adds units: sent again after a reply that never came, it could add them
    twice. It fails with stock_unavailable and the host decides."""
    keeper = unchecked_keeper
    offer_id = await open_offer(keeper, stock=5)
    await keeper.reserve(offer_id, "u1", 1, "press-0001")  # the batcher's connection
    await restart(redis_server)
    with pytest.raises(StockUnavailable):
        await keeper.restock(offer_id, 3)
    assert (await keeper.get_offer(offer_id)).total == 5


def cluster_ports(count: int) -> tuple[int, ...]:
    """Free ports for cluster nodes: each node also listens 10,000 ports higher (its bus)."""
    for _ in range(100):
        ports = [p for p in free_ports(4 * count) if p <= 55_535 and port_free(p + 10_000)]
        if len(ports) >= count:
            return tuple(ports[:count])
    raise AssertionError("no free ports for a cluster")


def port_free(port: int) -> bool:
    """Whether nothing listens on a loopback port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[tuple[RedisClusterNodes, list[RedisServer]]]:
    """A Redis Cluster of three masters of this test's own, and its nodes, to restart one."""
    cluster = RedisClusterNodes(cluster_ports(3), tmp_path / "cluster")
    nodes = cluster.nodes  # kept: each holds its process
    try:
        for node in nodes:
            node.start()
        cluster.start()  # the nodes answer: it only assigns the slots
        yield cluster, nodes
    finally:
        for node in nodes:
            node.kill()


async def test_presses_survive_a_cluster_node_restart(
    own_cluster: tuple[RedisClusterNodes, list[RedisServer]], stock_settings: StockSettings
) -> None:
    """A cluster client never looks whether a node closed its pooled connections: after a
    node restarted, the presses on its offers are sent again on new connections instead
    of failing with stock_unavailable."""
    cluster, nodes = own_cluster
    redis = connect(cluster.url)
    keeper = StockKeeper(redis, dataclasses.replace(stock_settings, redis_url=cluster.url))
    await keeper.start()
    try:
        offer_id = await open_offer(keeper, stock=40, per_user_limit=1)
        warm = await asyncio.gather(
            *(keeper.reserve(offer_id, f"u{n}", 1, f"press-{n:04}") for n in range(16))
        )
        assert {p.outcome for p in warm} == {"reserved"}
        shard = cast(RedisCluster, redis).get_node_from_key(OfferKeys(offer_id).offer)
        assert shard is not None
        [node] = [n for n in nodes if n.port == shard.port]
        await asyncio.to_thread(node.stop)
        await asyncio.to_thread(node.start)
        await wait_for(lambda: asyncio.to_thread(cluster.is_up), 30, "the cluster")
        after = await asyncio.gather(
            *(keeper.reserve(offer_id, f"u{n}", 1, f"press-{n:04}") for n in range(16, 32))
        )
        assert {p.outcome for p in after} == {"reserved"}
    finally:
        await keeper.close()
        await redis.aclose()


async def test_a_sold_out_lookup_on_a_cluster_finds_holds_in_every_bucket(
    own_cluster: tuple[RedisClusterNodes, list[RedisServer]], stock_settings: StockSettings
) -> None:
    """The lookup of a press on a sold-out offer builds its keys inside the script: they
    must share the bucket's hash tag, or a cluster refuses the script (cross-slot)."""
    cluster, _ = own_cluster
    redis = connect(cluster.url)
    keeper = StockKeeper(redis, dataclasses.replace(stock_settings, redis_url=cluster.url))
    await keeper.start()
    try:
        offer_id = await open_offer(keeper, stock=6, buckets=3, per_user_limit=1)
        holds = {}
        for n in range(6):
            got = await keeper.reserve(offer_id, f"u{n}", 1, f"press-{n:04}")
            holds[f"u{n}"] = got.hold_id
        assert (await keeper.reserve(offer_id, "late", 1, "press-late")).outcome == "sold_out"
        assert keeper.sold_out.is_sold_out(offer_id)
        again = await asyncio.gather(
            *(keeper.reserve(offer_id, user, 1, f"press-{user[1:]:0>4}") for user in holds)
        )
        assert [a.hold_id for a in again] == list(holds.values())
        assert all(a.replayed for a in again)
    finally:
        await keeper.close()
        await redis.aclose()


async def test_redis_out_of_reach_is_a_503_everywhere_not_only_for_purchases(
    redis_server: RedisServer, app_settings: Settings
) -> None:
    """Guards against sign-in and host pages answering 500 internal_error with a traceback
    while Redis is down (purchases already answered 503 stock_unavailable)."""
    stock = dataclasses.replace(app_settings.stock, redis_url=redis_server.url)
    server = TestServer(create_app(dataclasses.replace(app_settings, stock=stock)))
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        await asyncio.to_thread(redis_server.stop)
        async with aiohttp.ClientSession() as session:
            login = {"host_id": "alice", "password": "correct horse"}
            async with session.post(f"{base}/api/host/login", json=login) as resp:
                assert resp.status == 503
                assert resp.headers["Retry-After"] == "1"
                error = (await resp.json())["error"]
        assert (error["code"], error["retriable"]) == ("stock_unavailable", True)
    finally:
        await server.close()


async def test_purchase_news_waits_out_a_redis_outage_instead_of_being_lost(
    redis_server: RedisServer, stock_settings: StockSettings
) -> None:
    """Guards against a buyer never hearing that their payment went through: the room hub
    took its pending news off the list before publishing it, and a Redis error dropped it."""
    settings = dataclasses.replace(stock_settings, redis_url=redis_server.url)
    raw = connect(redis_server.url, decode=False)
    keeper = StockKeeper(connect(redis_server.url), settings)
    hub = RoomHub(raw, RoomPublisher(raw, RoomSettings()), keeper, RoomSettings(), "test")
    try:
        await asyncio.to_thread(redis_server.stop)
        hub.purchase_news(PurchaseNotice("room-1", "ann", {"status": "confirmed"}))
        with pytest.raises((RedisError, OSError)):
            await hub.news.publish_once()
        await asyncio.to_thread(redis_server.start)
        await hub.news.publish_once()
        events = cast(
            list[tuple[bytes, dict[bytes, bytes]]], await raw.xrange(RoomKeys("room-1").events)
        )
        assert [(fields[b"t"], fields[b"u"]) for _, fields in events] == [(b"purchase", b"ann")]
    finally:
        await keeper.redis.aclose()
        await raw.aclose()
