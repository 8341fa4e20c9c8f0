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


class RouteFigures:
    """One route's answers by status, and its latencies (shared with the other methods of
    the same route), for one method: what ``HttpFigures`` reads out at each scrape."""

    __slots__ = ("_buckets", "_seconds", "method", "route", "statuses")

    def __init__(self, method: str, route: str, latencies: tuple[list[int], list[float]]) -> None:
        self.method = method
        self.route = route
        self.statuses: dict[int, int] = {}
        self._buckets, self._seconds = latencies

    def count(self, status: int, seconds: float | None) -> None:
        """Count one answer, and time it unless ``seconds`` is None (a stream)."""
        statuses = self.statuses
        statuses[status] = statuses.get(status, 0) + 1
        if seconds is not None:
            self._buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._seconds[0] += seconds


class HttpFigures(Collector):
    """Requests by method, route and status, and their latencies by route, as plain counts
    that Prometheus reads when it scrapes (``livesale_http_requests_total`` and the
    histogram ``livesale_http_request_seconds``).

    Each route's figures are made once (``route``), when the route is added: answering a
    request looks nothing up by its labels."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], RouteFigures] = {}
        #: Per route: answers per latency bucket (the last for slower than every bound),
        #: then their total seconds.
        self.latencies: dict[str, tuple[list[int], list[float]]] = {}

    def route(self, method: str, route: str) -> RouteFigures:
        """The figures of one method of one route (a template, or "unmatched")."""
        figures = self._routes.get((method, route))
        if figures is None:
            latencies = self.latencies.get(route)
            if latencies is None:
                latencies = self.latencies[route] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
            figures = self._routes[(method, route)] = RouteFigures(method, route, latencies)
        return figures

    def collect(self) -> Iterator[Metric]:
        """The figures as Prometheus metric families (called at each scrape)."""
        requests = CounterMetricFamily(
            "livesale_http_requests",
            "HTTP requests by route and status.",
            labels=["method", "route", "status"],
        )
        answers = sorted(
            ((f.method, f.route, status), count)
            for f in list(self._routes.values())
            for status, count in list(f.statuses.items())
        )
        for (method, route, status), count in answers:
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "livesale_http_request_seconds",
            "Time to answer an HTTP request, by route.",
            labels=["route"],
        )
        for route, (counts, total) in sorted(self.latencies.items()):
            if not total[0] and not any(counts):
                continue  # a route added but never answered (yet)
            cumulative = list(accumulate(counts))
            bounds = [*(str(b) for b in LATENCY_BUCKETS), "+Inf"]
            latency.add_metric([route], list(zip(bounds, cumulative, strict=True)), total[0])
        yield latency


class ReservationFigures(Collector):
    """Presses by outcome and transport (``livesale_reservations_total``), as plain counts
    read out at each scrape: a prometheus_client counter takes a lock per press."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def count(self, outcome: str, transport: str) -> None:
        """Count one press."""
        key = (outcome, transport)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        """The counts as a Prometheus counter family."""
        family = CounterMetricFamily(
            "livesale_reservations",
            "Reservation answers by outcome (HTTP and socket).",
            labels=["outcome", "transport"],
        )
        for (outcome, transport), count in sorted(self.counts.items()):
            family.add_metric([outcome, transport], count)
        yield family


class Metrics:
    """The service's Prometheus metrics, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Requests are counted in plain ints and read out when Prometheus scrapes: the
        # prometheus_client counter and histogram take a lock on every observation, which
        # was most of the cost of answering a hello world.
        self.http = HttpFigures()
        r.register(self.http)
        self.reservations = ReservationFigures()
        r.register(self.reservations)
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
        self.reservations.count(outcome, transport)


async def watch_outbox(metrics: Metrics, redis: Redis) -> None:
    """Keep the outbox depth gauge fresh (runs in the background)."""
    while True:
        stop_if_cancelled()
        try:
            metrics.outbox_depth.set(await outbox_depth(redis))
        except (RedisError, OSError) as exc:
            log.debug("Outbox depth unknown for now: %s", exc)
        await asyncio.sleep(OUTBOX_POLL_S)
