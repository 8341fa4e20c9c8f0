"""A local Redis server (Debian's ``redis-server``), and a local 3-master Redis Cluster.

The append-only file is on (``appendfsync everysec``) so a restart keeps stock, holds and
the outbox.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .processes import (
    StackError,
    apt_install,
    read_pid,
    run_command,
    spawn,
    stop_process,
    wait_until_ready,
)


@dataclass
class RedisServer:
    """A Redis server on loopback, from Debian's package."""

    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    #: More redis-server options, e.g. cluster mode.
    options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """The URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def _log(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def _pid(self) -> Path:
        return self.data_dir / "redis.pid"

    def process_id(self) -> int | None:
        """The server's pid, from its pid file."""
        return read_pid(self._pid)

    def start(self) -> None:
        """Start on loopback and wait until it answers PING (installing it when missing)."""
        if not shutil.which("redis-server"):
            apt_install("redis-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--protected-mode",
                "yes",
                *self.options,
            ],
            self._log,
            self._pid,
        )
        wait_until_ready(f"Redis on port {self.port}", self.ping, self.process, self._log, 30)

    def ping(self) -> bool:
        """Whether it answers PING (over a plain socket, no client needed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> bool:
        """Shut down cleanly: Redis writes its append-only file before it exits."""
        return stop_process(self.process, self._pid, 30, signal.SIGTERM)

    def kill(self) -> bool:
        """Kill at once (SIGKILL), as a crash would."""
        return stop_process(self.process, self._pid, 5, signal.SIGKILL)


@dataclass
class RedisClusterNodes:
    """A local Redis Cluster of three masters (no replicas), for the cluster tests."""

    ports: tuple[int, ...]
    data_dir: Path

    @property
    def url(self) -> str:
        # The service takes this scheme as "Redis Cluster, discover the rest from here".
        """The URL the service takes as a cluster to discover from its first node."""
        return f"redis-cluster://127.0.0.1:{self.ports[0]}"

    @property
    def nodes(self) -> list[RedisServer]:
        """One Redis server per master, in cluster mode."""
        options = (
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
        )
        return [
            RedisServer(port, self.data_dir / str(port), options=options) for port in self.ports
        ]

    def _cluster_info(self, port: int | None = None) -> str:
        result = subprocess.run(
            ["redis-cli", "-p", str(port or self.ports[0]), "cluster", "info"],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout

    def _all_agree(self) -> bool:
        """Every node says the cluster is ok: after a restart one node may say so first."""
        return all("cluster_state:ok" in self._cluster_info(port) for port in self.ports)

    def is_up(self) -> bool:
        """Whether every node answers and agrees the cluster is ok."""
        return all(node.ping() for node in self.nodes) and self._all_agree()

    def start(self) -> None:
        """Start the nodes, assign the slots on first start, wait until all agree."""
        for node in self.nodes:
            if not node.ping():
                node.start()
        if "cluster_slots_assigned:0" in self._cluster_info():
            run_command(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{port}" for port in self.ports),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ]
            )
        deadline = time.monotonic() + 30
        while not self._all_agree():
            if time.monotonic() > deadline:
                raise StackError(f"The Redis Cluster on {self.ports} did not become ready")
            time.sleep(0.2)

    def stop(self) -> bool:
        """Shut every node down cleanly."""
        return all(node.stop() for node in self.nodes)
