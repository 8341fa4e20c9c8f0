"""Install, start, check and stop a local Redis and a local Kafka broker on loopback.

Used by ``livesale stack up|down|status``, by ``livesale serve`` when no Redis or Kafka is
configured, and by the tests, which also start throwaway instances to break on purpose.

- Redis is Debian's ``redis-server`` (installed with apt when missing), with the append-only
  file on (``appendfsync everysec``) so a restart keeps stock, holds and the outbox.
- Kafka is a single KRaft node assembled from Maven Central (``deploy/kafka/pom.xml``); the
  jars are cached under ``~/.cache/livesale`` and never enter the repository.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

KAFKA_VERSION = "3.9.1"
REDIS_PORT = 16379
KAFKA_PORT = 19092
KAFKA_CONTROLLER_PORT = 19093
#: The local 3-master Redis Cluster the cluster tests use (bus ports are these + 10000).
REDIS_CLUSTER_PORTS = (17001, 17002, 17003)


class StackError(Exception):
    """Root of the local stack's errors: something could not be installed or started."""


def cache_dir() -> Path:
    return Path(os.environ.get("LIVESALE_CACHE_DIR", Path.home() / ".cache" / "livesale"))


def state_dir() -> Path:
    default = Path.home() / ".local" / "state" / "livesale"
    return Path(os.environ.get("LIVESALE_STACK_DIR", default))


def _run(cmd: list[str]) -> None:
    log.info("Running %s", " ".join(cmd))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def apt_install(*packages: str) -> None:
    """Install Debian packages (root, or through sudo when available)."""
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise StackError(f"Please install {' '.join(packages)}: this needs root.")
        prefix = ["sudo", "-n"]
    env_prefix = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive"]
    _run([*prefix, "apt-get", "update", "-qq"])
    _run([*env_prefix, "apt-get", "install", "-y", "-qq", *packages])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open until every one is chosen)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _wait(
    what: str,
    ready: Callable[[], bool],
    process: subprocess.Popen[bytes] | None,
    log_file: Path,
    timeout_s: float,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
    raise StackError(f"{what} did not become ready. Last lines of {log_file}:\n{tail}")


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _spawn(cmd: list[str], log_file: Path, pid_file: Path) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        # A session of its own: the service outlives the command that started it.
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(str(process.pid))
    return process


def _stop(
    process: subprocess.Popen[bytes] | None, pid_file: Path, timeout_s: float, sig: int
) -> bool:
    """Signal the service and wait until it is gone; SIGKILL when it takes too long.

    A process this one started is waited on (a dead child stays visible until reaped);
    one started by an earlier command is found through its pid file.
    """
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        pid_file.unlink(missing_ok=True)
        return True
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink(missing_ok=True)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


@dataclass
class RedisServer:
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    #: More redis-server options, e.g. cluster mode.
    options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def _log(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def _pid(self) -> Path:
        return self.data_dir / "redis.pid"

    def process_id(self) -> int | None:
        return _read_pid(self._pid)

    def start(self) -> None:
        """Start on loopback and wait until it answers PING (installing it when missing)."""
        if not shutil.which("redis-server"):
            apt_install("redis-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = _spawn(
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
        _wait(f"Redis on port {self.port}", self.ping, self.process, self._log, 30)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> bool:
        """Shut down cleanly: Redis writes its append-only file before it exits."""
        return _stop(self.process, self._pid, 30, signal.SIGTERM)

    def kill(self) -> bool:
        return _stop(self.process, self._pid, 5, signal.SIGKILL)


def kafka_libs() -> Path:
    """The broker's jars, fetched from Maven Central into the cache on first use."""
    libs = cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if not shutil.which("java"):
        apt_install("openjdk-17-jre-headless")
    if not shutil.which("mvn"):
        apt_install("maven")
    pom = resources.files(__package__).joinpath("kafka").joinpath("pom.xml")
    with resources.as_file(pom) as pom_path:
        _run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(pom_path),
                "dependency:copy-dependencies",
                f"-Dkafka.version={KAFKA_VERSION}",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ]
        )
    marker.touch()
    return libs


_LOG4J = """\
log4j.rootLogger=WARN, stdout
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


@dataclass
class KafkaBroker:
    port: int
    controller_port: int
    data_dir: Path
    heap: str = "512m"
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def _log(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def _pid(self) -> Path:
        return self.data_dir / "broker.pid"

    def process_id(self) -> int | None:
        return _read_pid(self._pid)

    def _config(self) -> Path:
        config = self.data_dir / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={self.data_dir / 'data'}",
                    "num.partitions=6",
                    # One node: every internal topic has a single replica.
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "default.replication.factor=1",
                    "min.insync.replicas=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        (self.data_dir / "log4j.properties").write_text(_LOG4J)
        return config

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
            "-cp",
            f"{kafka_libs()}/*",
            main,
            *args,
        ]

    def start(self) -> None:
        """Format storage on first start, start the broker, wait until it serves."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._config()
        if not (self.data_dir / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            _run(
                self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config))
            )
        offset = self._log.stat().st_size if self._log.exists() else 0
        self.process = _spawn(self._java("kafka.Kafka", str(config)), self._log, self._pid)

        def started() -> bool:
            with self._log.open("rb") as f:
                f.seek(offset)
                return b"Kafka Server started" in f.read() and port_open(self.port)

        _wait(f"Kafka on port {self.port}", started, self.process, self._log, 90)

    def is_up(self) -> bool:
        return port_open(self.port)

    def stop(self) -> bool:
        return _stop(self.process, self._pid, 60, signal.SIGTERM)

    def kill(self) -> bool:
        return _stop(self.process, self._pid, 5, signal.SIGKILL)


@dataclass
class RedisClusterNodes:
    """A local Redis Cluster of three masters (no replicas), for the cluster tests."""

    ports: tuple[int, ...]
    data_dir: Path

    @property
    def url(self) -> str:
        # The service takes this scheme as "Redis Cluster, discover the rest from here".
        return f"redis-cluster://127.0.0.1:{self.ports[0]}"

    @property
    def nodes(self) -> list[RedisServer]:
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
        return all(node.ping() for node in self.nodes) and self._all_agree()

    def start(self) -> None:
        for node in self.nodes:
            if not node.ping():
                node.start()
        if "cluster_slots_assigned:0" in self._cluster_info():
            _run(
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
        return all(node.stop() for node in self.nodes)


def local_redis() -> RedisServer:
    return RedisServer(REDIS_PORT, state_dir() / "redis")


def local_kafka() -> KafkaBroker:
    return KafkaBroker(KAFKA_PORT, KAFKA_CONTROLLER_PORT, state_dir() / "kafka")


def local_cluster() -> RedisClusterNodes:
    return RedisClusterNodes(REDIS_CLUSTER_PORTS, state_dir() / "redis-cluster")


def up_cluster() -> RedisClusterNodes:
    """Start the local 3-master Redis Cluster unless it already runs."""
    cluster = local_cluster()
    if cluster.is_up():
        log.info("The Redis Cluster already runs on ports %s", cluster.ports)
    else:
        cluster.start()
        log.info("Started a Redis Cluster on ports %s", cluster.ports)
    return cluster


def up() -> tuple[RedisServer, KafkaBroker]:
    """Start the local Redis and Kafka unless they already run; returns both."""
    redis, kafka = local_redis(), local_kafka()
    if redis.ping():
        log.info("Redis already runs on port %d", redis.port)
    else:
        redis.start()
        log.info("Started Redis on port %d (data in %s)", redis.port, redis.data_dir)
    if kafka.is_up():
        log.info("Kafka already runs on port %d", kafka.port)
    else:
        kafka.start()
        log.info("Started Kafka on port %d (data in %s)", kafka.port, kafka.data_dir)
    return redis, kafka


def down() -> None:
    for name, stopped in (
        ("Kafka", local_kafka().stop()),
        ("Redis", local_redis().stop()),
        ("Redis Cluster", local_cluster().stop()),
    ):
        log.info("%s %s", name, "stopped" if stopped else "was not running")


def status() -> dict[str, bool]:
    return {
        "redis": local_redis().ping(),
        "kafka": local_kafka().is_up(),
        "redis-cluster": local_cluster().is_up(),
    }
