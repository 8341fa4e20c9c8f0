"""Stock keeper: zero-oversell reservations in Redis and confirmed orders to Kafka."""

from .errors import StockKeeperError, StockUnavailable
from .keeper import StockKeeper
from .settings import StockSettings
from .wait_for import use_in_asyncio

# Before anything waits: Python 3.11's asyncio.wait_for loses cancellations (wait_for.py).
use_in_asyncio()

__all__ = ["StockKeeper", "StockKeeperError", "StockSettings", "StockUnavailable"]
