"""Prometheus metrics: what operators watch during a show, read from ``/metrics`` on the
metrics port (never the service's)."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from deploy.stack import free_port
from server.app import create_app
from server.appkeys import SETTINGS
from server.settings import Settings

from .conftest import AiohttpClient
from .helpers import viewer, wait_for
from .room_helpers import events_until, of_type
from .test_http_api import live_offer

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def app_settings(app_settings: Settings) -> Settings:
    """The app's settings, with its metrics served on a free port of their own."""
    return dataclasses.replace(app_settings, metrics_port=free_port())


async def scrape(client: Client) -> dict[str, float]:
    """Read the app's metrics where Prometheus does: on the metrics port."""
    port = client.app[SETTINGS].metrics_port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()
    samples: dict[str, float] = {}
    for line in text.splitlines():
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


async def test_a_method_an_address_does_not_take_is_counted_as_unmatched(client: Client) -> None:
    resp = await client.delete("/api/offers/o-1/reservations")
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    samples = await scrape(client)
    assert (
        samples['livesale_http_requests_total{method="DELETE",route="unmatched",status="405"}'] == 1
    )


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


async def test_the_service_port_does_not_serve_metrics(client: Client) -> None:
    """Guards against /metrics answering anyone who can reach the service port."""
    resp = await client.get("/metrics")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    assert "livesale_http_requests_total" in str(await scrape(client))


async def test_no_metrics_port_is_opened_unless_one_is_set(
    aiohttp_client: AiohttpClient, app_settings: Settings, redis: Redis
) -> None:
    port = app_settings.metrics_port
    client = await aiohttp_client(create_app(dataclasses.replace(app_settings, metrics_port=None)))
    assert (await client.get("/healthz")).status == 200
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{port}/metrics")


def test_the_metrics_address_comes_from_the_environment() -> None:
    assert Settings.from_env({}).metrics_port is None
    settings = Settings.from_env(
        {"LIVESALE_METRICS_PORT": "9108", "LIVESALE_METRICS_HOST": "0.0.0.0"}
    )
    assert (settings.metrics_host, settings.metrics_port) == ("0.0.0.0", 9108)
    # Each worker of `serve --workers N` has its own figures, so its own port.
    worker = Settings.from_env({"LIVESALE_METRICS_PORT": "9108", "LIVESALE_WORKER": "2"})
    assert worker.metrics_port == 9110
