"""Prometheus metrics, served at ``/metrics`` on their own port: one registry per application.

What operators watch during a show: request rates and latencies per route, reservations by
outcome, viewers connected, fan-out lag (publish to write), outbox depth (orders waiting
for Kafka) and Kafka send latency. Keep ``/metrics`` on the internal network: it names
routes and volumes, not people.
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError

from stockkeeper.cancellation import stop_if_cancelled
from stockkeeper.relay import outbox_depth

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
OUTBOX_POLL_S = 5.0
#: The status a request is counted under when its client hung up before the answer (as
#: nginx logs it): never sent, and not a server error.
CLIENT_CLOSED_REQUEST = 499


class HttpFigures(Collector):
    """Requests by method, route and status, and their latencies by route, as plain counts
    that Prometheus reads when it scrapes (``livesale_http_requests_total`` and the
    histogram ``livesale_http_request_seconds``)."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, int], int] = {}
        #: Per route: answers per latency bucket (the last for slower than every bound),
        #: then their total seconds.
        self.latencies: dict[str, tuple[list[int], list[float]]] = {}

    def count(self, method: str, route: str, status: int, seconds: float | None) -> None:
        """Count one HTTP answer, and time it unless ``seconds`` is None (a stream)."""
        # Bounded: aiohttp's parser refuses methods it does not know, and routes are
        # templates ("unmatched" for any other path).
        key = (method, route, status)
        answers = self.answers
        answers[key] = answers.get(key, 0) + 1
        if seconds is not None:
            times = self.latencies.get(route)
            if times is None:
                times = self.latencies[route] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
            times[0][bisect_left(LATENCY_BUCKETS, seconds)] += 1
            times[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        """The figures as Prometheus metric families (called at each scrape)."""
        requests = CounterMetricFamily(
            "livesale_http_requests",
            "HTTP requests by route and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in sorted(self.answers.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "livesale_http_request_seconds",
            "Time to answer an HTTP request, by route.",
            labels=["route"],
        )
        for route, (counts, total) in sorted(self.latencies.items()):
            cumulative = list(accumulate(counts))
            bounds = [*(str(b) for b in LATENCY_BUCKETS), "+Inf"]
            latency.add_metric([route], list(zip(bounds, cumulative, strict=True)), total[0])
        yield latency


class Metrics:
    """The service's Prometheus metrics, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Requests are counted in plain ints and read out when Prometheus scrapes: the
        # prometheus_client counter and histogram take a lock on every observation, which
        # was most of the middleware's cost on a hello world.
        self.http = HttpFigures()
        r.register(self.http)
        self.reservations = Counter(
            "livesale_reservations",
            "Reservation answers by outcome (HTTP and socket).",
            ["outcome", "transport"],
            registry=r,
        )
        self._reservation_counters: dict[tuple[str, str], Counter] = {}
        self.connections = Gauge(
            "livesale_room_connections", "Viewer connections open on this process.", registry=r
        )
        self.fanout_lag = Histogram(
            "livesale_room_fanout_lag_seconds",
            "From an event's publication to its frame being written to a slice of this "
            "process's viewers.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.fanout_round = Histogram(
            "livesale_room_fanout_round_seconds",
            "One round of writes over a room's viewers on this process, the pauses between "
            "slices included.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "livesale_outbox_depth", "Outbox entries not yet acknowledged by Kafka.", registry=r
        )
        self.kafka_send = Histogram(
            "livesale_kafka_send_seconds",
            "From handing a batch of orders to the producer to Kafka's acknowledgement.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.kafka_sent = Counter(
            "livesale_kafka_messages_sent",
            "Order and refund events acknowledged by Kafka.",
            registry=r,
        )

    def kafka_batch(self, count: int, seconds: float) -> None:
        """Count messages Kafka acknowledged together, and time the batch."""
        self.kafka_send.observe(seconds)
        self.kafka_sent.inc(count)

    def reservation(self, outcome: str, transport: str) -> None:
        """Count one press by outcome and by how it came (http or socket)."""
        # Once per press: keep each outcome's counter rather than look it up by its labels.
        counter = self._reservation_counters.get((outcome, transport))
        if counter is None:
            counter = self._reservation_counters[(outcome, transport)] = self.reservations.labels(
                outcome, transport
            )
        counter.inc()


def route_of(request: web.Request) -> str:
    """The route template (``/api/offers/{offer_id}/reservations``), never the raw path."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


async def watch_outbox(metrics: Metrics, redis: Redis) -> None:
    """Keep the outbox depth gauge fresh (runs in the background)."""
    while True:
        stop_if_cancelled()
        try:
            metrics.outbox_depth.set(await outbox_depth(redis))
        except (RedisError, OSError) as exc:
            log.debug("Outbox depth unknown for now: %s", exc)
        await asyncio.sleep(OUTBOX_POLL_S)
