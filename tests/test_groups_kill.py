"""A server process killed while groups form: no order lost or doubled.

Two real `livesale serve` processes take a storm of viewers starting, joining and paying
for groups; one is killed with SIGKILL in the middle. Each viewer whose server vanished
retries the same request (same idempotency key, same payment reference) on the other. The
groups formed exactly as Redis says, and Kafka holds each paid member's order of each
formed group exactly once, and no other order."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from deploy.stack import free_ports, port_open
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import GroupKeys, OfferKeys
from stockkeeper.settings import StockSettings

from .group_helpers import end_window, member_ids, orders_and_refunds
from .helpers import HOST, server_env, viewer
from .relay_helpers import drain

VIEWERS = 90
SIZE = 3
#: Requests answered by the other server because the preferred one was gone.
FAILOVERS: Counter[str] = Counter()


@contextlib.contextmanager
def two_servers(settings: StockSettings, logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two `livesale serve` processes over the test Redis (this test kills one)."""
    ports = free_ports(2)
    processes = []
    for port in ports:
        with (logs / f"server-{port}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", "from server.cli import main; main()", "serve"],
                    env=server_env(settings, port),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        deadline = time.monotonic() + 30
        while not all(port_open(p) for p in ports):
            assert time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.1)
        for process, port in zip(processes, ports, strict=True):
            process.args = f"http://127.0.0.1:{port}"  # its base URL, for the test
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(15)


async def ask(
    session: aiohttp.ClientSession,
    bases: list[str],
    prefer: int,
    method: str,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> tuple[int, dict[str, Any]]:
    """The request on the preferred server, or the same request on the other when that
    server is gone (a connection error: the request may or may not have been applied)."""
    for attempt in range(2):
        base = bases[(prefer + attempt) % len(bases)]
        try:
            async with session.request(method, base + path, json=body, headers=headers) as resp:
                return resp.status, await resp.json()
        except (TimeoutError, aiohttp.ClientError):
            FAILOVERS[path] += 1
            continue
    raise AssertionError(f"no server answered {method} {path}")


async def test_a_server_killed_while_groups_form_loses_and_doubles_no_order(
    keeper: StockKeeper, redis: Redis, stock_settings: StockSettings, tmp_path: Path
) -> None:
    rng = random.Random(7)
    with two_servers(stock_settings, tmp_path) as servers:
        bases = [str(p.args) for p in servers]
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            offer = {
                "room_id": "kill-room",
                "sku": "MUG",
                "title": "Mug",
                "unit_price": 500,
                "compare_at_price": 700,
                "currency": "EUR",
                "stock": 60,
            }
            async with session.post(bases[0] + "/api/offers", json=offer, headers=HOST) as r:
                offer_id = (await r.json())["id"]
            window = {"countdown_seconds": 0, "window_seconds": 600}
            async with session.post(
                f"{bases[0]}/api/offers/{offer_id}/open", json=window, headers=HOST
            ) as r:
                assert r.status == 200
            terms = {"group_price": 350, "group_size": SIZE, "window_minutes": 10}
            async with session.post(
                f"{bases[0]}/api/offers/{offer_id}/group-terms", json=terms, headers=HOST
            ) as r:
                assert r.status == 200

            async def one_viewer(n: int) -> None:
                user, prefer = f"k{n:03}", n % 2
                headers = viewer(user)
                status, listed = await ask(
                    session, bases, prefer, "GET", f"/api/offers/{offer_id}/groups", {}, {}
                )
                seated: dict[str, Any] = {}
                status = 0
                if status == 0 and listed.get("groups") and rng.random() < 0.75:
                    group_id = rng.choice(listed["groups"][:3])["id"]
                    status, seated = await ask(
                        session,
                        bases,
                        prefer,
                        "POST",
                        f"/api/groups/{group_id}/members",
                        {"idempotency_key": f"join-{user}-0001"},
                        headers,
                    )
                if status not in (200, 201):
                    status, seated = await ask(
                        session,
                        bases,
                        prefer,
                        "POST",
                        f"/api/offers/{offer_id}/groups",
                        {"idempotency_key": f"start-{user}-001"},
                        headers,
                    )
                if status not in (200, 201):
                    assert seated["error"]["code"] in ("sold_out", "already_in_group"), seated
                    return
                if rng.random() < 0.8:
                    hold_id = seated["hold"]["hold_id"]
                    status, paid = await ask(
                        session,
                        bases,
                        prefer,
                        "POST",
                        f"/api/holds/{hold_id}/confirm",
                        {"payment_ref": f"psp-{user}"},
                        headers,
                    )
                    assert status in (200, 202), paid

            tasks = [asyncio.create_task(one_viewer(n)) for n in range(VIEWERS // 2)]
            await asyncio.sleep(0.05)
            servers[1].send_signal(signal.SIGKILL)  # in the middle of the storm
            tasks += [asyncio.create_task(one_viewer(n)) for n in range(VIEWERS // 2, VIEWERS)]
            await asyncio.gather(*tasks)
            assert servers[1].wait(10) == -signal.SIGKILL
    assert FAILOVERS, "requests met the killed server and were retried on the other"

    groups = await keeper.groups.of_offer(str(offer_id))
    formed = [g for g in groups if g.state == "formed"]
    assert formed, "groups formed during the storm"
    assert all(len(g.members) == SIZE for g in formed)
    seats = Counter(u for g in groups for u in member_ids(g))
    assert [u for u, n in seats.items() if n > 1] == []
    for g in groups:
        if g.state == "forming":
            await end_window(keeper, str(offer_id), g.id)
    await keeper.groups.fail_due(str(offer_id))
    failed = [g for g in await keeper.groups.of_offer(str(offer_id)) if g.state == "failed"]

    statuses: dict[str, tuple[str, str]] = {}
    for g in formed + failed:
        for user in member_ids(g):
            hold_id = str(await redis.hget(GroupKeys(str(offer_id)).seats(g.id), user))
            status = await redis.hget(OfferKeys(str(offer_id)).hold(hold_id), "status")
            statuses[hold_id] = (g.state, str(status))
    ordered = {h for h, (state, status) in statuses.items() if status == "confirmed"}
    refunded = {h for h, (state, status) in statuses.items() if status == "refunded"}
    assert all(statuses[h][0] == "formed" for h in ordered)
    offer_now = await keeper.get_offer(str(offer_id))
    assert offer_now.sold == len(ordered)
    assert offer_now.available + offer_now.held + offer_now.sold == 60

    await drain(redis, stock_settings, "groups-kill")
    orders, refunds = await orders_and_refunds(stock_settings, len(ordered), len(refunded))
    counts = Counter(o["order_id"] for o in orders)
    assert [o for o, n in counts.items() if n > 1] == [], "no order doubled"
    assert set(counts) == {f"o{h}" for h in ordered}, "no order lost"
    assert {r["hold_id"] for r in refunds} == refunded
