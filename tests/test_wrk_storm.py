"""The storm script of the reservation and coupon-claim benchmarks: every request is a fresh
POST (a new idempotency key, never one of an earlier run), by the viewers in turn, and its
answers are counted by status."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from loadtests.wrk import run_wrk, storm_script

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by make")


async def test_a_storm_sends_fresh_keys_as_every_viewer_and_counts_each_answer(
    tmp_path: Path,
) -> None:
    keys: list[str] = []
    viewers: set[str] = set()

    async def press(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        keys.append(body["idempotency_key"])
        viewers.add(request.headers["Authorization"])
        status = (201, 409, 200, 500)[len(keys) % 4]
        return web.json_response({}, status=status)

    app = web.Application()
    app.router.add_post("/press", press)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        body = '{"quantity":1,"idempotency_key":"%s"}'
        runs = []
        for _ in range(2):
            script = storm_script(tmp_path, ["tok-a", "tok-b", "tok-c"], "/press", body)
            url = f"http://127.0.0.1:{port}/press"
            runs.append(await asyncio.to_thread(run_wrk, url, 2, 1, script))
    finally:
        await runner.cleanup()
    assert len(keys) == len(set(keys)) > 40  # two runs, no key twice
    assert viewers == {"Bearer tok-a", "Bearer tok-b", "Bearer tok-c"}
    answered = [sum(run["statuses"].values()) for run in runs]
    assert sum(answered) <= len(keys) <= sum(answered) + 4  # at most 2 in flight per run
    for run in runs:
        assert set(run["statuses"]) == {"200", "201", "409", "other"}
        assert min(run["statuses"].values()) > 0
