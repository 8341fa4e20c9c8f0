"""A lean asyncio load generator for the reservation path, for where Locust's per-core
ceiling (a Python greenlet per user) would cap the measurement instead of the server.

``concurrency`` workers press buy back to back for ``seconds``, as viewers taken in turn from
a pool of ``VIEWERS``, so no viewer runs into the per-person limit.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import aiohttp

from server.tokens import mint_viewer_token

VIEWERS = 5000


async def press_buy(
    base: str, offer_id: str, secret: str, seconds: float, concurrency: int
) -> dict[str, Any]:
    """Press buy from ``concurrency`` clients for ``seconds``; rate and latency figures."""
    tokens = [
        {"Authorization": f"Bearer {mint_viewer_token(secret, f'lean-{i}', f'Lean {i}')}"}
        for i in range(VIEWERS)
    ]
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    url = f"{base}/api/offers/{offer_id}/reservations"
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def worker(session: aiohttp.ClientSession, n: int) -> None:
        press = 0
        while time.monotonic() < deadline:
            press += 1
            started = time.perf_counter()
            async with session.post(
                url,
                json={"idempotency_key": f"lean-{n}-{press:08d}"},
                headers=tokens[(n * 7919 + press) % VIEWERS],
            ) as resp:
                await resp.read()
                status = resp.status
            latencies.append((time.perf_counter() - started) * 1000)
            key = "reserved" if status in (200, 201) else str(status)
            outcomes[key] = outcomes.get(key, 0) + 1

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, n) for n in range(concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "tool": "lean asyncio generator (aiohttp client, one process)",
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "outcomes": outcomes,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
    }
