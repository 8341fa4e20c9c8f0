"""Order status events a fulfilment system sends back: the sample's ``--ship`` option.

Fulfilment reports each order it ships (and, in the demo, delivers a little later) on the
status topic (``orders.status``), keyed by order id, as JSON described by
``schemas/order_status.v1.json``; livesale shows it to the buyer. The report is sent before
it is marked sent, so a crash in between sends it again: livesale takes the repeat as an
update of the same status (same carrier and tracking number), never as a step back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib

import orjson
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

CARRIER = "Demo Post"


def reported_key(group: str) -> str:
    """The Redis hash of orders a fulfilment group has reported shipped (order id -> at)."""
    return f"fulfilment:{group}:reported"


def tracking_number(order_id: str) -> str:
    """The demo carrier's tracking number of an order (the same for every report of it)."""
    return "DP" + hashlib.sha256(order_id.encode()).hexdigest()[:12].upper()


def status_event(order_id: str, status: str, carrier: str, tracking: str) -> dict[str, object]:
    """One order status event of schema version 1, happening now."""
    now = datetime.datetime.now(datetime.UTC)
    return {
        "schema": "livesale.order_status",
        "schema_version": 1,
        "order_id": order_id,
        "status": status,
        "at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "carrier": carrier,
        "tracking": tracking,
    }


class StatusReporter:
    """Sends ``shipped`` for each order once, and ``delivered`` after a delay if asked."""

    def __init__(
        self,
        redis: Redis,
        bootstrap: str,
        topic: str,
        group: str,
        deliver_after_s: float | None = None,
    ) -> None:
        self.redis = redis
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.deliver_after_s = deliver_after_s
        self._producer: AIOKafkaProducer | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connect the producer."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all"
        )
        await self._producer.start()

    async def stop(self) -> None:
        """Drop the deliveries not sent yet (a demo), and close the producer."""
        for task in self._deliveries:
            task.cancel()
        for task in list(self._deliveries):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._producer is not None:
            await self._producer.stop()

    async def shipped(self, order_id: str) -> None:
        """Report the order shipped, unless this group already did."""
        if await self.redis.hexists(reported_key(self.group), order_id):
            return
        event = status_event(order_id, "shipped", CARRIER, tracking_number(order_id))
        await self._send(event)
        await self.redis.hset(reported_key(self.group), order_id, str(event["at"]))
        if self.deliver_after_s is not None:
            task = asyncio.create_task(self._deliver(order_id, self.deliver_after_s))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, order_id: str, after_s: float) -> None:
        await asyncio.sleep(after_s)
        await self._send(status_event(order_id, "delivered", CARRIER, tracking_number(order_id)))

    async def _send(self, event: dict[str, object]) -> None:
        assert self._producer is not None, "start() the reporter first"
        await self._producer.send_and_wait(
            self.topic, orjson.dumps(event), key=str(event["order_id"]).encode()
        )
