"""The local stack of a developer's machine: Redis and Kafka on loopback, started on demand.

Used by ``livesale stack up|down|status`` (and so by ``make run`` and ``make test``), by the
benchmarks, and by the tests, which also start throwaway instances to break on purpose.
Nothing here runs in production: ``livesale serve`` only checks that Redis and Kafka answer.

- Redis is Debian's ``redis-server`` (installed with apt when missing): ``redis_server.py``.
- Kafka is a single KRaft node assembled from Maven Central (``deploy/kafka/pom.xml``); the
  jars are cached under ``~/.cache/livesale`` and never enter the repository:
  ``kafka_broker.py``.
"""

from __future__ import annotations

import logging

from .kafka_broker import KafkaBroker
from .processes import StackError, apt_install, free_port, free_ports, port_open
from .redis_server import RedisClusterNodes, RedisServer
from .settings import StackSettings

__all__ = [
    "KafkaBroker",
    "RedisClusterNodes",
    "RedisServer",
    "StackError",
    "apt_install",
    "down",
    "free_port",
    "free_ports",
    "local_cluster",
    "local_kafka",
    "local_redis",
    "port_open",
    "status",
    "up",
    "up_cluster",
]

log = logging.getLogger(__name__)

REDIS_PORT = 16379
KAFKA_PORT = 19092
KAFKA_CONTROLLER_PORT = 19093
#: The local 3-master Redis Cluster the cluster tests use (bus ports are these + 10000).
REDIS_CLUSTER_PORTS = (17001, 17002, 17003)


def local_redis() -> RedisServer:
    """The developer's Redis on port 16379."""
    return RedisServer(REDIS_PORT, StackSettings.from_env().state_dir / "redis")


def local_kafka() -> KafkaBroker:
    """The developer's Kafka broker on port 19092."""
    settings = StackSettings.from_env()
    return KafkaBroker(
        KAFKA_PORT,
        KAFKA_CONTROLLER_PORT,
        settings.state_dir / "kafka",
        cache_dir=settings.cache_dir,
    )


def local_cluster() -> RedisClusterNodes:
    """The local 3-master Redis Cluster the cluster tests use."""
    return RedisClusterNodes(
        REDIS_CLUSTER_PORTS, StackSettings.from_env().state_dir / "redis-cluster"
    )


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
    """Stop the local Kafka, Redis and Redis Cluster (whichever run)."""
    for name, stopped in (
        ("Kafka", local_kafka().stop()),
        ("Redis", local_redis().stop()),
        ("Redis Cluster", local_cluster().stop()),
    ):
        log.info("%s %s", name, "stopped" if stopped else "was not running")


def status() -> dict[str, bool]:
    """Which local services run."""
    return {
        "redis": local_redis().ping(),
        "kafka": local_kafka().is_up(),
        "redis-cluster": local_cluster().is_up(),
    }
