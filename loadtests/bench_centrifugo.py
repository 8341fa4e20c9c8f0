"""``livesale-bench centrifugo``: a livesale room against a Centrifugo v6 channel.

Each server runs as one process pinned to one core (Centrifugo with ``GOMAXPROCS=1``); the
clients get the other cores. Both are driven by the same lean clients
(loadtests/room_clients.py): the same viewers, 1 in 50 timed as frames arrive and the
others counted in sweeps, events counted by the bytes ``"type":"tick"``, and the delay
read from each event's publish time (``at_ms``) in its payload. Events go in at the same
rate: into livesale through its room publisher (Redis), as ``livesale-bench room`` does,
into Centrifugo through its HTTP API (``/api/publish``).

For each row (viewers x events/s) and server: p50/p99 publish-to-receive delay, the
server's CPU share of its core, memory per viewer (RSS growth / viewers), deliveries/s,
and whether every event reached every viewer. ``--saturate`` instead raises events/s
until a server saturates its core and compares the deliveries/s each reached.

The run ends with its check: exit 1 if a server lost events or viewers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop

from deploy import stack
from server.process import raise_open_files
from server.redis_client import connect
from server.room.publisher import RoomPublisher
from server.room.settings import RoomSettings
from stockkeeper.settings import StockSettings

from . import centrifugo_server
from .centrifugo_report import report, shortfalls
from .centrifugo_runs import Publish, Target, broadcast, saturate
from .measure import check_open_files, machine
from .room_clients import TICK_AT
from .server_process import server_process

#: The Redis database of livesale's room (flushed before each run).
BENCH_DB = 10
#: The publish time in a Centrifugo publication: the data is passed through as published.
CENTRIFUGO_AT = re.compile(rb'"type":"tick","at_ms":(\d+)')


def pin(pid: int, core: int) -> None:
    """Every thread of ``pid`` onto ``core`` (threads it starts later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), {core})


@contextlib.contextmanager
def _livesale(args: argparse.Namespace, core: int | None) -> Iterator[Target]:
    redis_url = f"{StockSettings.from_env().redis_url.rsplit('/', 1)[0]}/{BENCH_DB}"
    asyncio.run(_flush(redis_url))
    port, metrics_port = stack.free_ports(2)
    env = {
        **os.environ,
        "LIVESALE_REDIS_URL": redis_url,
        "LIVESALE_VIEWER_SECRET": secrets.token_urlsafe(24),
        "LIVESALE_PORT": str(port),
        "LIVESALE_METRICS_PORT": str(metrics_port),
        "LIVESALE_RUN_RELAY": "0",
        "LIVESALE_LOG_LEVEL": "WARNING",
        # The lean clients do not answer pings; the run is shorter than this.
        "LIVESALE_WS_HEARTBEAT_S": "600",
    }
    if args.batch_ms is not None:
        env["LIVESALE_ROOM_BATCH_MS"] = str(args.batch_ms)

    @contextlib.asynccontextmanager
    async def publisher() -> AsyncIterator[Publish]:
        redis = connect(redis_url, decode=False)
        rooms = RoomPublisher(redis, RoomSettings())

        async def publish(n: int) -> None:
            await rooms.publish("bench", "tick", {"n": n})

        try:
            yield publish
        finally:
            await redis.aclose()

    with server_process(env) as server:
        if core is not None:
            pin(server.pid, core)
        yield Target(
            "livesale", server.pid, port, "/rooms/bench/live", b"", b"", TICK_AT, publisher
        )


async def _flush(redis_url: str) -> None:
    redis = connect(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


@contextlib.contextmanager
def _centrifugo(args: argparse.Namespace, binary: Path, core: int | None) -> Iterator[Target]:
    [port] = stack.free_ports(1)
    key = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}/api/publish"

    @contextlib.asynccontextmanager
    async def publisher() -> AsyncIterator[Publish]:
        async with aiohttp.ClientSession(headers={"X-API-Key": key}) as http:

            async def publish(n: int) -> None:
                data = {"type": "tick", "at_ms": int(time.time() * 1000), "n": n}
                body = orjson.dumps({"channel": centrifugo_server.CHANNEL, "data": data})
                async with http.post(url, data=body) as resp:
                    answer = await resp.read()
                if resp.status != 200 or b'"error"' in answer:
                    raise RuntimeError(f"Centrifugo refused a publish: {answer[:300]!r}")

            yield publish

    with centrifugo_server.centrifugo(binary, port, key, core, not args.no_history) as running:
        if core is not None:
            pin(running.pid, core)
        yield Target(
            "centrifugo",
            running.pid,
            port,
            "/connection/websocket",
            centrifugo_server.hello(),
            centrifugo_server.SUBSCRIBED,
            CENTRIFUGO_AT,
            publisher,
        )


def _cores(server_core: int) -> int | None:
    """Pin this process (and so the clients it starts) off the servers' core; the core the
    servers get, or None where there is nothing to pin."""
    cores = os.sched_getaffinity(0)
    if server_core < 0 or len(cores) < 2 or server_core not in cores:
        print("Not pinning: the servers and clients share the cores", flush=True)
        return None
    os.sched_setaffinity(0, cores - {server_core})
    return server_core


def _row(
    serve: Callable[[str], contextlib.AbstractContextManager[Target]],
    name: str,
    viewers: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """One server's run of a row; a server that breaks under the load is a result too (the
    other rows still run and are reported)."""
    try:
        with serve(name) as target:
            return uvloop.run(broadcast(target, viewers, rate, seconds))
    except (OSError, aiohttp.ClientError, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"{name} broke under {viewers:,} viewers x {rate:g} events/s: {exc!r}", flush=True)
        return {"server": name, "viewers": viewers, "failed": f"{type(exc).__name__}: {exc}"}


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench centrifugo`` and print (and write) its figures."""
    binary = centrifugo_server.install() if "centrifugo" in args.servers else None
    most = args.saturate_viewers if args.saturate else max(v for v, _ in args.rows)
    # The servers and the clients' processes are started from here and inherit it.
    check_open_files(raise_open_files(most + 4096), most)
    redis_server = stack.local_redis()
    if not redis_server.ping():
        redis_server.start()
    core = _cores(args.server_core)
    results: dict[str, Any] = {
        "machine": machine(),
        "centrifugo_version": centrifugo_server.VERSION,
        "centrifugo_history": not args.no_history,
        "server_core": core,
        "seconds": args.seconds,
    }

    def serve(name: str) -> contextlib.AbstractContextManager[Target]:
        if name == "livesale":
            return _livesale(args, core)
        assert binary is not None
        return _centrifugo(args, binary, core)

    if args.saturate:
        results["saturation"] = {}
        for name in args.servers:
            print(f"Saturating {name}: {args.saturate_viewers} viewers", flush=True)
            with serve(name) as target:
                results["saturation"][name] = uvloop.run(saturate(target, args))
    else:
        results["rows"] = []
        for viewers, rate in args.rows:
            row: dict[str, Any] = {"viewers": viewers, "events_per_s": rate}
            for name in args.servers:
                print(f"{name}: {viewers} viewers x {rate} events/s", flush=True)
                row[name] = _row(serve, name, viewers, rate, args.seconds)
            results["rows"].append(row)
    wrong = shortfalls(results)
    results["checked"] = not wrong
    report(results)
    if args.out:
        Path(args.out).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(f"Figures written to {args.out}")
    if wrong:
        sys.exit("The run does not add up:\n  " + "\n  ".join(wrong))
    if args.saturate:
        print("Checked: every viewer held by every server")
    else:
        print("Checked: every viewer held and every event delivered to each, by every server")
