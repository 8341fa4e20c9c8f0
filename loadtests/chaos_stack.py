"""The chaos run's own services: a Redis, a Kafka broker, ``serve --workers 2 --no-relay``
and named relays, each in a folder of the run, so breaking them disturbs nothing else.

Every method that starts, stops or kills blocks (call it through ``asyncio.to_thread``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import psutil
from redis import Redis as SyncRedis
from redis.exceptions import ResponseError

from deploy.stack import KafkaBroker, RedisServer, StackError, free_ports
from server.workers import FAST_FAILURE_S
from stockkeeper import keys
from stockkeeper.keys import OfferKeys

#: How long the services get to come up (Kafka's JVM on a busy machine is the slowest).
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class RelayTimings:
    """The relays' Kafka timeouts: the product's by default, shorter for the smoke test."""

    #: LIVESALE_RELAY_KAFKA_TIMEOUT_S: one Kafka step of a relay before it starts over.
    kafka_timeout_s: float = 30.0

    @property
    def transaction_timeout_ms(self) -> int:
        """Kafka aborts a killed relay's open transaction after this long."""
        return int(self.kafka_timeout_s * 2000)

    @property
    def claim_idle_ms(self) -> int:
        """Another relay takes over a silent relay's entries after this long."""
        return int(self.kafka_timeout_s * 1000)


@dataclass
class ChaosStack:
    """Redis, Kafka, the server and the relays of one chaos run, all under ``workdir``."""

    workdir: Path
    timings: RelayTimings
    relay_names: tuple[str, ...] = ("relay-a", "relay-b")
    viewer_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redis: RedisServer = field(init=False)
    kafka: KafkaBroker = field(init=False)
    port: int = field(init=False)
    supervisor: subprocess.Popen[bytes] | None = None
    relays: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        redis_port, kafka_port, controller_port, self.port = free_ports(4)
        self.redis = RedisServer(redis_port, self.workdir / "redis")
        self.kafka = KafkaBroker(kafka_port, controller_port, self.workdir / "kafka", heap="384m")

    @property
    def base(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment of the server and relay processes."""
        return {
            **os.environ,
            "LIVESALE_REDIS_URL": self.redis.url,
            "LIVESALE_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "LIVESALE_PORT": str(self.port),
            "LIVESALE_VIEWER_SECRET": self.viewer_secret,
            "LIVESALE_SESSION_SECRET": self.viewer_secret + "-session",
            "LIVESALE_RUN_RELAY": "0",
            "LIVESALE_RELAY_KAFKA_TIMEOUT_S": str(self.timings.kafka_timeout_s),
            "LIVESALE_RELAY_TRANSACTION_TIMEOUT_MS": str(self.timings.transaction_timeout_ms),
            "LIVESALE_RELAY_CLAIM_IDLE_MS": str(self.timings.claim_idle_ms),
            "LIVESALE_LOG_LEVEL": "INFO",
        }

    def start(self) -> None:
        """Start everything and wait until the server answers /readyz."""
        self.redis.start()
        self._start_kafka()
        self.start_server()
        for name in self.relay_names:
            self.start_relay(name)

    def _start_kafka(self) -> None:
        for attempt in range(3):
            try:
                self.kafka.start()
                return
            except StackError as exc:
                # Formatting the storage takes a random cluster id as an argument, which
                # fails when the id starts with "-"; the next attempt draws another.
                if "cluster-id" not in str(exc) or attempt == 2:
                    raise

    def start_server(self) -> None:
        """``serve --workers 2 --no-relay``, ready once both workers listen."""
        self.supervisor = self._spawn("server", ["serve", "--workers", "2", "--no-relay"])
        deadline = time.monotonic() + READY_TIMEOUT_S
        while len(self.worker_pids()) < 2 or not self.ready():
            if self.supervisor.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The server did not start; see {self.log('server')}")
            time.sleep(0.2)
        time.sleep(1.0)  # the second worker listening too

    def start_relay(self, name: str) -> None:
        """``livesale relay --name NAME``: the same name after a restart."""
        self.relays[name] = self._spawn(f"relay-{name}", ["relay", "--name", name])

    def _spawn(self, log_name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with self.log(log_name).open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-c", "from server.cli import main; main()", *args],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def log(self, name: str) -> Path:
        """A process's log file in the run's folder."""
        return self.workdir / f"{name}.log"

    def ready(self) -> bool:
        """Whether ``/readyz`` answers 200 (Redis reachable from a worker)."""
        try:
            with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def worker_pids(self) -> list[int]:
        """The live worker processes of the supervisor."""
        if self.supervisor is None or self.supervisor.poll() is not None:
            return []
        children = psutil.Process(self.supervisor.pid).children()
        return sorted(c.pid for c in children if c.status() != psutil.STATUS_ZOMBIE)

    def kill_worker(self) -> str:
        """SIGKILL one worker and wait until the supervisor has started its replacement."""
        before = self.worker_pids()
        victim = min(before, key=lambda pid: psutil.Process(pid).create_time())
        # The supervisor takes a worker dying this young for one failing at start, and
        # stops them all: the victim must be older (it is, but for a very short run).
        age = time.time() - psutil.Process(victim).create_time()
        time.sleep(max(0.0, FAST_FAILURE_S + 1 - age))
        os.kill(victim, signal.SIGKILL)
        started = time.monotonic()
        while True:
            now = self.worker_pids()
            if len(now) == 2 and victim not in now:
                break
            if time.monotonic() - started > READY_TIMEOUT_S:
                raise RuntimeError(f"No worker replaced {victim}; see {self.log('server')}")
            time.sleep(0.05)
        [replacement] = set(now) - set(before)
        return (
            f"SIGKILL worker {victim}; the supervisor started {replacement} "
            f"after {time.monotonic() - started:.1f} s"
        )

    def kill_relay(self, name: str) -> str:
        """SIGKILL a relay (it does not come back until ``start_relay``)."""
        process = self.relays[name]
        process.kill()
        process.wait(10)
        return f"SIGKILL {name} (pid {process.pid})"

    def shutdown_redis(self) -> None:
        """Redis ``SHUTDOWN``: it fsyncs its append-only file, then exits."""
        # Over a plain socket: a client would take the closed connection for an error
        # and retry it with a backoff.
        refused = b""
        with socket.create_connection(("127.0.0.1", self.redis.port), timeout=30) as sock:
            sock.sendall(b"SHUTDOWN\r\n")
            with contextlib.suppress(ConnectionResetError):
                refused = sock.recv(256)  # nothing: Redis closes it once the file is written
        if refused:
            raise RuntimeError(f"Redis refused to shut down: {refused!r}")
        if self.redis.process is not None:
            self.redis.process.wait(30)

    def kill_redis(self) -> None:
        """SIGKILL Redis, as a crash of its process would."""
        self.redis.kill()

    def pending_of(self, relay: str) -> int:
        """Outbox entries read by ``relay`` and not acknowledged (its stranded batch)."""
        client = SyncRedis(port=self.redis.port, decode_responses=True, socket_timeout=10)
        try:
            pending = 0
            for offer_id in cast(set[str], client.smembers(keys.OFFERS)):
                try:
                    summary = client.xpending(OfferKeys(offer_id).outbox, keys.RELAY_GROUP)
                except ResponseError:  # no relay has seen this offer yet
                    continue
                pending += sum(
                    int(c["pending"]) for c in summary["consumers"] if c["name"] == relay
                )
            return pending
        finally:
            client.close()

    def log_count(self, relay: str, text: str) -> int:
        """How many times a relay's log says ``text``."""
        return self.log(f"relay-{relay}").read_text(errors="replace").count(text)

    def took_over(self) -> int:
        """How many takeovers of a stopped relay's entries the relays logged."""
        return sum(self.log_count(name, "Took over") for name in self.relay_names)

    def outbox_depth(self) -> int:
        """Entries in the offers' outboxes (not yet acknowledged by a relay)."""
        client = SyncRedis(port=self.redis.port, decode_responses=True, socket_timeout=10)
        try:
            offer_ids = cast(set[str], client.smembers(keys.OFFERS))
            return sum(int(client.xlen(OfferKeys(o).outbox)) for o in offer_ids)
        finally:
            client.close()

    def redis_postponed_writes(self) -> int:
        """How often Redis put off writing its append-only file (a slow fsync): writes it
        answered then were in no file, and a crash right then could lose them."""
        log = self.redis.data_dir / "redis.log"
        return log.read_text(errors="replace").count("Asynchronous AOF fsync is taking too long")

    def stop(self) -> None:
        """Stop the relays and the server (SIGTERM), then Kafka and Redis."""
        for process in [*self.relays.values(), self.supervisor]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.relays.values(), self.supervisor]:
            if process is not None:
                try:
                    process.wait(40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        self.kafka.kill()
        self.redis.kill()
