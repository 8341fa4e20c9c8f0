"""A sample fulfilment consumer: how a shipping team reads confirmed orders.

It reads the orders topic in a consumer group with ``isolation_level="read_committed"``, so
it sees only orders whose relay transaction committed: each order once, whatever happened to
the relays. It still ships each order exactly once by order id, the belt to those braces: a
consumer restarting before it committed its offsets reads a batch again, and a
read-uncommitted reader would also see aborted copies. The shipment record itself is the
de-duplication record: ``HSETNX`` writes it only for an order id not seen before, so "ship"
and "remember that it shipped" are one step. Offsets are committed after a batch is
recorded, so a crash re-reads, never skips.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from .cancellation import stop_if_cancelled
from .settings import StockSettings
from .status_reports import StatusReporter

log = logging.getLogger(__name__)

OrderHandler = Callable[[dict[str, Any]], Awaitable[None]]


def shipments_key(group: str) -> str:
    """The Redis set of orders a fulfilment consumer group has shipped."""
    return f"fulfilment:{group}:shipments"


class FulfilmentConsumer:
    """A sample fulfilment consumer: reads committed orders and ships each once by order id."""

    def __init__(
        self,
        redis: Redis,
        settings: StockSettings,
        group: str,
        on_new_order: OrderHandler,
        reporter: StatusReporter | None = None,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.group = group
        self.on_new_order = on_new_order
        #: Tells livesale each order shipped (``livesale fulfil --ship``), or nobody.
        self.reporter = reporter
        self.shipped = 0
        self.duplicates = 0

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until cancelled or until ``stop`` is set."""
        consumer = AIOKafkaConsumer(
            self.settings.orders_topic,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Orders of aborted relay transactions stay in the log; never ship them.
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            if self.reporter is not None:
                await self.reporter.start()
            while stop is None or not stop.is_set():
                stop_if_cancelled()
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for messages in batches.values():
                    for message in messages:
                        await self._ship(orjson.loads(message.value))
                if batches:
                    await consumer.commit()
        finally:
            await consumer.stop()
            if self.reporter is not None:
                await self.reporter.stop()

    async def _ship(self, order: dict[str, Any]) -> None:
        if order.get("schema_version") not in (1, 2):
            # A newer schema than this consumer knows: stop rather than ship it wrongly.
            raise ValueError(f"Unsupported order schema version {order.get('schema_version')}")
        is_new = await self.redis.hsetnx(
            shipments_key(self.group), order["order_id"], orjson.dumps(order)
        )
        if is_new:
            self.shipped += 1
            await self.on_new_order(order)
        else:
            self.duplicates += 1
            log.info("Order %s was delivered again; already shipped", order["order_id"])
        if self.reporter is not None and order.get("kind", "purchase") == "purchase":
            # New or not: a crash after shipping and before reporting reports it now.
            await self.reporter.shipped(order["order_id"])
