"""Starts one `livesale serve` process for a benchmark and stops it afterwards."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson


def http_json(method: str, url: str, token: str | None = None, body: Any = None) -> Any:
    """One JSON request, for setting a benchmark up (not for load)."""
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as resp:
        return orjson.loads(resp.read())


def open_offer_now(
    base: str, host_token: str, room_id: str, sku: str, stock: int = 10_000_000, limit: int = 1000
) -> str:
    """An offer on sale from now for an hour (by default with more units than any run
    takes, and a limit nobody reaches); its id."""
    created = http_json(
        "POST",
        f"{base}/api/offers",
        host_token,
        {
            "room_id": room_id,
            "sku": sku,
            "title": f"Benchmark item {sku}",
            "unit_price": 990,
            "currency": "EUR",
            "stock": stock,
            "per_user_limit": limit,
            "hold_seconds": 3600,
        },
    )
    http_json(
        "POST",
        f"{base}/api/offers/{created['id']}/open",
        host_token,
        {"countdown_seconds": 0, "window_seconds": 3600},
    )
    return str(created["id"])


@contextlib.contextmanager
def server_process(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A server started with ``env``, ready for traffic (its log is shown if it fails)."""
    base = f"http://127.0.0.1:{env['LIVESALE_PORT']}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-c", "from server.cli import main; main()", "serve"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(base, server, log)
            yield server
        except BaseException:
            # What the server said is the first thing to read when a run breaks.
            print(f"The server's log ends with:\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()  # stuck under the load it was given
                server.wait(30)


def _wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server did not start:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    sys.exit("The server did not become ready in 30 s")


async def fresh_database(redis_url: str) -> str:
    """Empty the benchmark's database and sign up a host; returns the host's API token."""
    from server.hosts.accounts import HostAccounts
    from server.redis_client import connect

    redis = connect(redis_url)
    try:
        # Freed in the background: an earlier run may have left a million holds, which a
        # blocking FLUSHDB takes longer to free than the client waits for an answer.
        await redis.flushdb(asynchronous=True)
        accounts = HostAccounts(redis)
        await accounts.create("bench-host", secrets.token_urlsafe(16))
        return await accounts.mint_api_token("bench-host", "benchmark")
    finally:
        await redis.aclose()
