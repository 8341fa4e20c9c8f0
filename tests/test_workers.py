"""``serve --workers 2``: two processes on one port behave as one service.

The kernel spreads connections over the workers (SO_REUSEPORT); room events, sold-out flags
and moderation must agree across them, and a stop closes every viewer with 1001.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from deploy.stack import RedisServer, free_port, port_open
from stockkeeper.settings import StockSettings

from .helpers import HOST, create_live_offer, server_env, viewer
from .room_helpers import ask, ask_until, close_code, events_until, of_type, send
from .test_rooms import token

pytestmark = pytest.mark.slow

Socket = aiohttp.ClientWebSocketResponse


SERVE = [sys.executable, "-c", "from server.cli import main; main()", "serve"]


def start_supervisor(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`livesale serve --workers 2`, once both workers listen (its output goes to ``log``)."""
    port = int(env["LIVESALE_PORT"])
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [*SERVE, "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    try:
        while len(psutil.Process(supervisor.pid).children()) < 2 or not port_open(port):
            assert time.monotonic() < deadline, log.read_text()
            assert supervisor.poll() is None, log.read_text()
            time.sleep(0.1)
    except BaseException:
        supervisor.terminate()
        supervisor.wait(40)
        raise
    return supervisor


@pytest.fixture
def workers(
    stock_settings: StockSettings, tmp_path: Path, redis: object
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`livesale serve --workers 2` over the test Redis: its base URL and supervisor."""
    port = free_port()
    supervisor = start_supervisor(server_env(stock_settings, port), tmp_path / "workers.log")
    try:
        time.sleep(1.0)  # both workers listening
        yield f"http://127.0.0.1:{port}", supervisor
    finally:
        if supervisor.poll() is None:
            supervisor.terminate()
            supervisor.wait(40)


async def on_each_worker(
    session: aiohttp.ClientSession, base: str, room: str, user: str
) -> dict[str, Socket]:
    """Open sockets until one lands on each worker; the rest are closed."""
    found: dict[str, Socket] = {}
    for _ in range(60):
        ws = await session.ws_connect(f"{base}/rooms/{room}/live", params={"token": token(user)})
        hello = (await events_until(ws, of_type("hello")))[-1]
        await events_until(ws, of_type("snapshot"))
        if hello["server"] in found:
            await ws.close()
        else:
            found[hello["server"]] = ws
        if len(found) == 2:
            return found
    raise AssertionError("every connection landed on the same worker")


def of_request(request_id: str) -> Callable[[dict[str, Any]], bool]:
    """Accepts the answer to the message sent with ``request_id``."""
    return lambda event: event.get("request_id") == request_id


async def test_two_workers_share_rooms_flags_and_moderation(
    workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, _ = workers
    async with aiohttp.ClientSession() as session:
        a, b = (await on_each_worker(session, base, "w-room", "ann")).values()
        c, d = (await on_each_worker(session, base, "w-room", "bob")).values()

        # Chat posted through one worker reaches viewers on both, in the same order. A
        # poster's own chat may come back before its acknowledgement: every event read
        # while waiting for the ack counts too.
        seen: dict[int, list[dict[str, Any]]] = {id(ws): [] for ws in (a, b, c, d)}
        for ws, text in ((a, "first"), (d, "second")):
            await send(ws, "chat", request_id=f"chat-{text}", text=text)
            events = await events_until(ws, of_request(f"chat-{text}"))
            assert events[-1]["type"] == "chat_ack"
            seen[id(ws)] += events
        for ws in (a, b, c, d):
            events = seen[id(ws)]
            if not any(e["type"] == "chat" and e.get("text") == "second" for e in events):
                events += await events_until(ws, of_type("chat", text="second"))
            assert [e["text"] for e in events if e["type"] == "chat"] == ["first", "second"]

        # One unit: sold through worker A, refused on worker B, back on B after a cancel on A.
        offer = {
            "room_id": "w-room",
            "sku": "ONE",
            "title": "The only one",
            "unit_price": 100,
            "currency": "EUR",
            "stock": 1,
        }
        async with session.post(f"{base}/api/offers", json=offer, headers=HOST) as resp:
            offer_id = (await resp.json())["id"]
        window = {"countdown_seconds": 0, "window_seconds": 600}
        async with session.post(f"{base}/api/offers/{offer_id}/open", json=window, headers=HOST):
            pass
        got = await ask(a, "reserve", offer_id=offer_id, quantity=1, idempotency_key="press-ann-01")
        assert got["outcome"] == "reserved"
        refused = await ask(
            d, "reserve", offer_id=offer_id, quantity=1, idempotency_key="press-bob-01"
        )
        assert refused["error"]["code"] == "sold_out"
        cancelled = await ask(a, "cancel", hold_id=got["hold"]["hold_id"])
        assert cancelled["outcome"] == "cancelled"
        # The other process hears of the returned unit over pub/sub within milliseconds;
        # well before its own sold-out flag would lapse by age (1 s).
        again = await ask_until(
            d,
            lambda answer: answer.get("outcome") == "reserved",
            0.8,
            "reserve",
            offer_id=offer_id,
            quantity=1,
            idempotency_key="press-bob-02",
        )
        assert again["outcome"] == "reserved"

        # A ban reaches the banned viewer's sockets on both workers.
        async with session.post(
            f"{base}/api/rooms/w-room/bans", json={"user_id": "bob"}, headers=HOST
        ) as resp:
            assert resp.status == 200
        assert await close_code(c) == 4003
        assert await close_code(d) == 4003
        for ws in (a, b, c, d):
            await ws.close()


async def test_stopping_the_supervisor_sends_every_viewer_elsewhere(
    workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, supervisor = workers
    children = psutil.Process(supervisor.pid).children()
    async with aiohttp.ClientSession() as session:
        sockets = await on_each_worker(session, base, "w-stop", "cid")
        supervisor.send_signal(signal.SIGTERM)
        for ws in sockets.values():
            assert await close_code(ws) == 1001
    assert supervisor.wait(40) == 0
    assert not any(
        child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children
    )


async def test_a_retried_press_gets_its_hold_on_every_worker(
    workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Guards against `409 sold_out` answered to 33 of 60 retries of the last unit's press:
    the worker that had not made the hold answered from its sold-out flag."""
    base, _ = workers
    # A connection per request, so the kernel spreads them over both workers.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        offer_id = await create_live_offer(session, base, stock=1)
        url = f"{base}/api/offers/{offer_id}/reservations"
        press = {"idempotency_key": "press-last-unit"}
        async with session.post(url, json=press, headers=viewer("buyer")) as resp:
            assert resp.status == 201
            hold = (await resp.json())["hold"]
        for n in range(10):  # sold out on both workers: their flags go up
            late = {"idempotency_key": f"press-late-{n:02}"}
            async with session.post(url, json=late, headers=viewer(f"late-{n}")) as resp:
                assert resp.status == 409
        for _ in range(60):
            async with session.post(url, json=press, headers=viewer("buyer")) as resp:
                assert resp.status == 200
                assert (await resp.json())["hold"] == hold


def alive(process: psutil.Process) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    return process.is_running() and process.status() != psutil.STATUS_ZOMBIE


def test_a_worker_lost_while_redis_is_down_comes_back_with_redis(
    redis_server: RedisServer, stock_settings: StockSettings, tmp_path: Path
) -> None:
    """Guards against one worker killed during a Redis outage stopping the whole service: its
    replacement failed its Redis check at start, and the supervisor took that for a bad
    configuration and stopped every worker for good."""
    port = free_port()
    settings = dataclasses.replace(stock_settings, redis_url=redis_server.url)
    supervisor = start_supervisor(server_env(settings, port), tmp_path / "workers.log")
    try:
        time.sleep(6.0)  # both workers have served: a failure now is not a bad configuration
        first, second = psutil.Process(supervisor.pid).children()
        redis_server.stop()
        first.kill()
        time.sleep(8.0)  # the replacement fails its Redis check, maybe more than once
        assert supervisor.poll() is None, (tmp_path / "workers.log").read_text()
        assert alive(second)
        redis_server.start()
        deadline = time.monotonic() + 40
        while sum(alive(c) for c in psutil.Process(supervisor.pid).children()) < 2:
            assert time.monotonic() < deadline, (tmp_path / "workers.log").read_text()
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as resp:
            assert resp.status == 200
    finally:
        supervisor.terminate()
        supervisor.wait(40)
