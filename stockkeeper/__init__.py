"""Stock keeper: zero-oversell reservations in Redis and confirmed orders to Kafka."""

from .errors import StockKeeperError, StockUnavailable
from .keeper import StockKeeper
from .settings import StockSettings

__all__ = ["StockKeeper", "StockKeeperError", "StockSettings", "StockUnavailable"]
