"""Centrifugo for ``livesale-bench centrifugo``: installed once with ``go install``, run as
one process on one core with a generated configuration.

Everything Go downloads and builds stays in a cache outside the repository
(``~/.cache/livesale/centrifugo/<version>/``: ``bin``, ``gopath``, ``gomodcache``,
``gocache``), so a later run reuses the binary and builds nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

MODULE = "github.com/centrifugal/centrifugo/v6"
#: The Centrifugo release compared against (the latest v6 tag the Go module proxy served).
VERSION = "v6.9.1"
#: The namespace of the benchmark's channel: anonymous viewers may subscribe to it.
NAMESPACE = "bench"
CHANNEL = f"{NAMESPACE}:room"
#: Where the client's connect and subscribe commands are answered (subscribe is id 2).
SUBSCRIBED = b'"id":2,"subscribe"'


def cache_dir(version: str = VERSION) -> Path:
    """The folder holding one version's binary and Go's caches, outside the repository."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "livesale" / "centrifugo" / version


def go_env(cache: Path) -> dict[str, str]:
    """The environment ``go install`` runs with: every Go folder inside ``cache``."""
    return {
        **os.environ,
        "GOBIN": str(cache / "bin"),
        "GOPATH": str(cache / "gopath"),
        "GOMODCACHE": str(cache / "gomodcache"),
        "GOCACHE": str(cache / "gocache"),
        # Go's module cache is read-only by default, which makes it hard to delete.
        "GOFLAGS": "-modcacherw",
    }


def install(version: str = VERSION) -> Path:
    """The Centrifugo binary, built once with ``go install`` (niced) and reused after."""
    cache = cache_dir(version)
    binary = cache / "bin" / "centrifugo"
    if binary.exists():
        print(f"Centrifugo {version}: reusing {binary}", flush=True)
        return binary
    go = shutil.which("go")
    if go is None:
        sys.exit(
            "livesale-bench centrifugo: Go is missing (https://go.dev/dl/); it builds "
            f"Centrifugo with go install {MODULE}@{version}."
        )
    (cache / "bin").mkdir(parents=True, exist_ok=True)
    command = [go, "install", f"{MODULE}@{version}"]
    if shutil.which("nice"):
        command = ["nice", "-n", "19", *command]
    print(
        f"Centrifugo {version}: building it once into {cache} ({' '.join(command)}); "
        "this takes a few minutes",
        flush=True,
    )
    done = subprocess.run(command, env=go_env(cache), cwd=cache, capture_output=True, text=True)
    if done.returncode != 0 or not binary.exists():
        sys.exit(f"go install {MODULE}@{version} failed:\n{done.stderr[-3000:]}")
    print(f"Centrifugo {version}: built {binary}", flush=True)
    return binary


def config(port: int, api_key: str, history: bool = True) -> dict[str, Any]:
    """Centrifugo's configuration for the benchmark.

    Anonymous viewers connect without a token and subscribe to the ``bench`` namespace; the
    HTTP API (``/api/publish`` with ``X-API-Key``) and the client WebSocket share one
    loopback port. With ``history`` the channel keeps recent publications with offsets, as
    a livesale room keeps its events for viewers who reconnect. Server pings are far apart:
    the lean clients do not answer them (livesale's heartbeat is set likewise).
    """
    namespace: dict[str, Any] = {
        "name": NAMESPACE,
        "allow_subscribe_for_client": True,
        "allow_subscribe_for_anonymous": True,
    }
    if history:
        namespace |= {"history_size": 2000, "history_ttl": "300s"}
    return {
        "http_server": {"address": "127.0.0.1", "port": port},
        "client": {
            "allow_anonymous_connect_without_token": True,
            "ping_interval": "600s",
            "pong_timeout": "300s",
        },
        "http_api": {"key": api_key},
        "health": {"enabled": True},
        # A benchmark run sends nothing anywhere.
        "usage_stats": {"disabled": True},
        "channel": {"namespaces": [namespace]},
        "log": {"level": "error"},
    }


def hello() -> bytes:
    """The connect and subscribe commands a viewer sends after the upgrade (JSON protocol:
    one command a line, in one frame)."""
    connect = orjson.dumps({"id": 1, "connect": {"name": "livesale-bench"}})
    subscribe = orjson.dumps({"id": 2, "subscribe": {"channel": CHANNEL}})
    return connect + b"\n" + subscribe


@dataclass(frozen=True, slots=True)
class Running:
    """A started Centrifugo: its process, port and API key."""

    process: subprocess.Popen[bytes]
    port: int
    api_key: str

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid


@contextlib.contextmanager
def centrifugo(
    binary: Path, port: int, api_key: str, core: int | None, history: bool = True
) -> Iterator[Running]:
    """Centrifugo on ``port`` with one Go thread running code (``GOMAXPROCS=1``), pinned
    with taskset to ``core`` when taskset exists; its log is shown if it fails."""
    with tempfile.TemporaryDirectory(prefix="livesale-centrifugo-") as tmp:
        path = Path(tmp) / "config.json"
        path.write_bytes(orjson.dumps(config(port, api_key, history), option=orjson.OPT_INDENT_2))
        command = [str(binary), "--config", str(path)]
        if core is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(core), *command]
        log = Path(tmp) / "centrifugo.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                env={**os.environ, "GOMAXPROCS": "1"},
                cwd=tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(port, process, log)
            yield Running(process, port, api_key)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()  # stuck under the load it was given
                process.wait(30)


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"Centrifugo did not start:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    sys.exit(f"Centrifugo did not become ready in 30 s:\n{log.read_text()[-3000:]}")
