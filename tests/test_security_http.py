"""HTTP as an attacker or a flaky network sends it: no answer a browser may sniff, a JSON
404 for missing files, a JSON 400 for unreadable requests, and clients that hang up
counted as such rather than as server errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from deploy.stack import free_port
from server.api.http_server import serve
from server.app import create_app
from server.appkeys import METRICS
from server.settings import Settings

from .helpers import HOST, wait_for

Client = TestClient[web.Request, web.Application]


async def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` bytes and read the whole answer: status, headers, body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


# ------------------------------------------------------------------ nosniff


async def test_every_kind_of_answer_forbids_type_sniffing(client: Client) -> None:
    """Guards against JSON answers and static files without X-Content-Type-Options."""
    answers = [
        await client.get("/readyz"),
        await client.get("/healthz"),
        await client.get("/api/host/me"),  # a 401 answered by its route
        await client.get("/no/such/address"),  # a 404 of the catch-all route
        await client.get("/a%0Ab"),  # a 404 too, the path holding a newline
        await client.get("/api/shows", headers=HOST),
        await client.get("/static/common.js"),
        await client.get("/console"),
    ]
    for resp in answers:
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", resp.url
    events = await client.get("/rooms/show-1/events")
    assert events.headers["X-Content-Type-Options"] == "nosniff"
    events.close()


# ------------------------------------------------------------------ static files


async def test_static_files_are_served_with_their_type(client: Client) -> None:
    resp = await client.get("/static/common.js")
    assert resp.status == 200
    assert resp.content_type in ("text/javascript", "application/javascript")
    assert "export class Api" in await resp.text()


@pytest.mark.parametrize(
    "path", ["/static/missing.js", "/static/..%2Fconsole.html", "/static/.hidden", "/static/"]
)
async def test_a_missing_static_file_answers_the_json_not_found(client: Client, path: str) -> None:
    """Guards against a missing static file answering an empty 404."""
    resp = await client.get(path)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


# ------------------------------------------------------------------ unreadable requests


Served = tuple[int, web.Application]


@pytest.fixture
async def served(app_settings: Settings, redis: object) -> AsyncIterator[Served]:
    """The app served as `livesale serve` serves it, on a free port of its own."""
    port = free_port()
    app = create_app(app_settings)
    task = asyncio.create_task(serve(app, "127.0.0.1", port))

    async def listening() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await wait_for(listening, what="the server to listen")
    yield port, app
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["header-without-colon", "header-too-long", "nul-in-target"],
)
async def test_an_unreadable_request_answers_json_400_and_logs_one_line(
    served: Served, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Guards against parse errors answered as plain text with a traceback in the log."""
    caplog.set_level(logging.DEBUG)
    status, headers, body = await exchange(served[0], raw)
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    assert headers["x-content-type-options"] == "nosniff"
    assert orjson.loads(body)["error"]["code"] == "bad_request"
    said = [r for r in caplog.records if "Unreadable HTTP request" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in said] == [(logging.WARNING, None)]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_non_http_traffic_gets_the_same_answer_quietly(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tls_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"
    status, _, body = await exchange(served[0], tls_hello)
    assert (status, orjson.loads(body)["error"]["code"]) == (400, "bad_request")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_the_server_keeps_serving_after_unreadable_requests(served: Served) -> None:
    await exchange(served[0], b"NOT HTTP AT ALL\r\n\r\n")
    status, _, body = await exchange(
        served[0], b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert (status, body) == (200, b"ok")


# ------------------------------------------------------------------ clients that hang up


async def hang_up_mid_body(port: int) -> None:
    """Start a login whose body never arrives in full, and leave."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/host/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 200\r\n\r\n{"host_id": "tes'
    )
    await writer.drain()
    writer.close()


async def counted_as_a_disconnect(app: web.Application) -> None:
    """Wait until the login is counted with status 499; it never is as a 500."""
    registry = app[METRICS].registry

    def requests(status: str) -> float:
        labels = {"method": "POST", "route": "/api/host/login", "status": status}
        return registry.get_sample_value("livesale_http_requests_total", labels) or 0.0

    async def counted() -> bool:
        return requests("499") == 1

    await wait_for(counted, what="the disconnect to be counted")
    assert requests("500") == 0


async def test_a_client_hanging_up_mid_body_is_counted_as_a_disconnect_not_an_error(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Guards against a client that leaves mid-body being logged as an unexpected error and
    counted as a 500, which the operations guide says to alert on."""
    caplog.set_level(logging.DEBUG)
    port, app = served
    await hang_up_mid_body(port)
    await counted_as_a_disconnect(app)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_handler_cancelled_by_a_hang_up_is_counted_as_a_disconnect(
    client: Client,
) -> None:
    """The test server cancels handlers whose client left (handler_cancellation=True)."""
    assert client.server.port is not None
    await hang_up_mid_body(client.server.port)
    await counted_as_a_disconnect(client.app)
