"""Prometheus metrics: what operators watch during a show, read from ``/metrics``."""

from __future__ import annotations

import dataclasses

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from server.app import create_app
from server.settings import Settings

from .conftest import AiohttpClient
from .helpers import viewer, wait_for
from .room_helpers import events_until, of_type
from .test_http_api import live_offer

Client = TestClient[web.Request, web.Application]


async def scrape(client: Client) -> dict[str, float]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    samples: dict[str, float] = {}
    for line in (await resp.text()).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_requests_reservations_and_connections_are_counted(client: Client) -> None:
    offer_id = await live_offer(client, stock=1)
    for user in ("ann", "bob"):
        await client.post(
            f"/api/offers/{offer_id}/reservations",
            json={"idempotency_key": f"press-{user}-001"},
            headers=viewer(user),
        )
    ws = await client.ws_connect("/rooms/room-1/live")
    await events_until(ws, of_type("snapshot"))
    samples = await scrape(client)
    assert samples['livesale_reservations_total{outcome="reserved",transport="http"}'] == 1
    assert samples['livesale_reservations_total{outcome="sold_out",transport="http"}'] == 1
    # Routes are named by their template, so ids never multiply the series.
    route = "/api/offers/{offer_id}/reservations"
    assert (
        samples[f'livesale_http_requests_total{{method="POST",route="{route}",status="201"}}'] == 1
    )
    assert (
        samples[f'livesale_http_requests_total{{method="POST",route="{route}",status="409"}}'] == 1
    )
    assert samples[f'livesale_http_request_seconds_count{{route="{route}"}}'] == 2
    assert samples["livesale_room_connections"] == 1
    await ws.close()


async def test_unknown_addresses_share_one_series(client: Client) -> None:
    for path in ("/nope/1", "/nope/2"):
        assert (await client.get(path)).status == 404
    samples = await scrape(client)
    assert samples['livesale_http_requests_total{method="GET",route="unmatched",status="404"}'] == 2


async def test_kafka_sends_and_the_outbox_depth_are_measured(
    aiohttp_client: AiohttpClient, app_settings: Settings, redis: Redis
) -> None:
    client = await aiohttp_client(create_app(dataclasses.replace(app_settings, run_relay=True)))
    offer_id = await live_offer(client, stock=2)
    resp = await client.post(
        f"/api/offers/{offer_id}/reservations",
        json={"idempotency_key": "press-ann-001"},
        headers=viewer("ann"),
    )
    hold_id = (await resp.json())["hold"]["hold_id"]
    resp = await client.post(
        f"/api/holds/{hold_id}/confirm", json={"payment_ref": "psp-1"}, headers=viewer("ann")
    )
    assert resp.status == 200

    async def sent() -> bool:
        return (await scrape(client)).get("livesale_kafka_messages_sent_total", 0) == 1

    await wait_for(sent, timeout_s=30, what="the order to reach Kafka")
    samples = await scrape(client)
    assert samples["livesale_kafka_send_seconds_count"] >= 1
    assert samples["livesale_outbox_depth"] >= 0
