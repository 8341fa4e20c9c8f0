"""Prometheus metrics, served at ``/metrics`` on their own port: one registry per application.

What operators watch during a show: request rates and latencies per route, reservations by
outcome, viewers connected, fan-out lag (publish to write), outbox depth (orders waiting
for Kafka) and Kafka send latency. Keep ``/metrics`` on the internal network: it names
routes and volumes, not people.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
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


class Metrics:
    """The service's Prometheus metrics, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "livesale_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "livesale_http_request_seconds",
            "Time to answer an HTTP request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reservations = Counter(
            "livesale_reservations",
            "Reservation answers by outcome (HTTP and socket).",
            ["outcome", "transport"],
            registry=r,
        )
        self._reservation_counters: dict[tuple[str, str], Counter] = {}
        # Children by their labels, found once: prometheus_client's labels() takes a lock
        # and builds its key on every call, a few microseconds a request.
        self._request_counters: dict[tuple[str, str, int], Counter] = {}
        self._latencies: dict[str, Histogram] = {}
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

    def request(self, method: str, route: str, status: int, seconds: float | None) -> None:
        """Count one HTTP answer, and time it unless ``seconds`` is None (a stream)."""
        counter = self._request_counters.get((method, route, status))
        if counter is None:
            # Bounded: aiohttp's parser refuses methods it does not know, and routes are
            # templates ("unmatched" for any other path).
            counter = self.requests.labels(method, route, str(status))
            self._request_counters[(method, route, status)] = counter
        counter.inc()
        if seconds is not None:
            latency = self._latencies.get(route)
            if latency is None:
                latency = self._latencies[route] = self.latency.labels(route)
            latency.observe(seconds)

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


def metrics_middleware(metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware timing every request and counting it by route, method and status."""

    @web.middleware
    async def measure(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        streamed = False
        try:
            response = await handler(request)
            status = response.status
            # A room socket or event stream answers when the viewer leaves, minutes later:
            # counted, but kept out of the request latencies.
            streamed = isinstance(response, web.WebSocketResponse) or (
                response.content_type == "text/event-stream"
            )
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            # With handler_cancellation on, a client that hangs up cancels its handler.
            status = CLIENT_CLOSED_REQUEST
            raise
        finally:
            metrics.request(
                request.method,
                route_of(request),
                status,
                None if streamed else time.perf_counter() - started,
            )

    return measure


async def watch_outbox(metrics: Metrics, redis: Redis) -> None:
    """Keep the outbox depth gauge fresh (runs in the background)."""
    while True:
        stop_if_cancelled()
        try:
            metrics.outbox_depth.set(await outbox_depth(redis))
        except (RedisError, OSError) as exc:
            log.debug("Outbox depth unknown for now: %s", exc)
        await asyncio.sleep(OUTBOX_POLL_S)
