"""A local single-node Kafka (KRaft) assembled from Maven Central (``deploy/kafka/pom.xml``)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .processes import (
    apt_install,
    port_open,
    read_pid,
    run_command,
    spawn,
    stop_process,
    wait_until_ready,
)
from .settings import StackSettings

KAFKA_VERSION = "3.9.1"


def kafka_libs(cache_dir: Path) -> Path:
    """The broker's jars and tools, fetched from Maven Central into the cache on first use
    (and again when ``pom.xml`` changes)."""
    libs = cache_dir / f"kafka-{KAFKA_VERSION}" / "libs"
    marker = libs / ".complete"
    pom = resources.files("deploy").joinpath("kafka").joinpath("pom.xml")
    wanted = hashlib.sha256(pom.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == wanted:
        return libs
    if not shutil.which("java"):
        apt_install("openjdk-17-jre-headless")
    if not shutil.which("mvn"):
        apt_install("maven")
    with resources.as_file(pom) as pom_path:
        run_command(
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
    marker.write_text(wanted)
    return libs


_LOG4J = """\
log4j.rootLogger=WARN, stdout
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


def new_cluster_id() -> str:
    """A random KRaft cluster id (22 URL-safe base64 characters) that does not start with
    "-": the storage tool would read such an id as an option (one id in 64 did)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class KafkaBroker:
    """A single-node KRaft Kafka broker on loopback, assembled from Maven Central's jars."""

    port: int
    controller_port: int
    data_dir: Path
    heap: str = "512m"
    process: subprocess.Popen[bytes] | None = None
    #: Where the broker's jars are cached (they never enter the repository).
    cache_dir: Path = field(default_factory=lambda: StackSettings.from_env().cache_dir)

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` clients bootstrap from."""
        return f"127.0.0.1:{self.port}"

    @property
    def _log(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def _pid(self) -> Path:
        return self.data_dir / "broker.pid"

    def process_id(self) -> int | None:
        """The broker's pid, from its pid file."""
        return read_pid(self._pid)

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
            f"{kafka_libs(self.cache_dir)}/*",
            main,
            *args,
        ]

    def start(self) -> None:
        """Format storage on first start, start the broker, wait until it serves."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._config()
        if not (self.data_dir / "data" / "meta.properties").exists():
            cluster_id = new_cluster_id()
            run_command(
                self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config))
            )
        offset = self._log.stat().st_size if self._log.exists() else 0
        self.process = spawn(self._java("kafka.Kafka", str(config)), self._log, self._pid)

        def started() -> bool:
            with self._log.open("rb") as f:
                f.seek(offset)
                return b"Kafka Server started" in f.read() and port_open(self.port)

        # A broker that kept many partitions loads them all before it serves: minutes on a
        # busy machine, so the wait is long (a broker that dies ends it at once).
        wait_until_ready(f"Kafka on port {self.port}", started, self.process, self._log, 300)

    def is_up(self) -> bool:
        """Whether the broker's port accepts connections."""
        return port_open(self.port)

    def stop(self) -> bool:
        """Shut down cleanly (SIGTERM), killing it after 60 s."""
        return stop_process(self.process, self._pid, 60, signal.SIGTERM)

    def kill(self) -> bool:
        """Kill at once (SIGKILL), as a crash would."""
        return stop_process(self.process, self._pid, 5, signal.SIGKILL)
