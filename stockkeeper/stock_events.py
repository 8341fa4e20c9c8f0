"""Listens for stock changes from every process and lowers this process's sold-out flags."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from . import keys
from .cancellation import stop_if_cancelled
from .keeper import StockKeeper

log = logging.getLogger(__name__)


async def watch_stock(keeper: StockKeeper) -> None:
    """Follow the stock channel until cancelled, reconnecting after Redis outages."""
    while True:
        stop_if_cancelled()
        pubsub = keeper.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(keys.STOCK_CHANNEL)
            # Anything announced while we were not listening is lost: start from scratch.
            keeper.sold_out.lower_all()
            async for message in pubsub.listen():
                offer_id, _, available = str(message["data"]).partition(" ")
                if available.isdigit() and int(available) > 0:
                    keeper.sold_out.lower(offer_id)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("Lost the stock channel (%s); sold-out flags now lapse by age", exc)
            await asyncio.sleep(1.0)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
