"""The orders package in the app: the buyers' index, and the status consumer's task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from stockkeeper.recorder import NoRecorder

from ..appkeys import KEEPER, METRICS, ORDERS, REDIS, ROOM_PUBLISHER, SETTINGS
from .consumer import StatusConsumer, StatusTopic, status_counter
from .ledger import Ledger
from .status import StatusUpdates


async def orders_ctx(app: web.Application) -> AsyncIterator[None]:
    """The ledger (the keeper's recorder) and, when set, the status consumer. After the
    rooms: status news goes out as room events."""
    settings = app[SETTINGS]
    ledger = Ledger(app[REDIS], app[KEEPER])
    app[ORDERS] = ledger
    app[KEEPER].recorder = app[KEEPER].groups.recorder = ledger
    task: asyncio.Task[None] | None = None
    if settings.consume_order_status:
        where = StatusTopic(
            settings.stock.kafka_bootstrap,
            settings.order_status_topic,
            settings.order_status_group,
            settings.stock.topic_partitions,
            settings.stock.topic_replication,
        )
        updates = StatusUpdates(ledger.scripts, app[ROOM_PUBLISHER])
        consumer = StatusConsumer(where, updates, status_counter(app[METRICS].registry))
        task = asyncio.create_task(consumer.run(), name="order status consumer")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app[KEEPER].recorder = app[KEEPER].groups.recorder = NoRecorder()
        await ledger.close()
