"""Errors raised by the stock keeper. All derive from :class:`StockKeeperError`.

Purchase outcomes a buyer expects (sold out, over the limit, not open yet) are results, not
errors; these are for requests that cannot be carried out at all.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

T = TypeVar("T")


class StockKeeperError(Exception):
    """Root of every stock keeper error."""

    code = "stock_error"
    #: True when the same request may succeed if simply sent again.
    retriable = False


class StockUnavailable(StockKeeperError):
    """Redis could not be reached; the request may or may not have been applied."""

    code = "stock_unavailable"
    retriable = True


class UnknownOffer(StockKeeperError):
    """There is no offer with this id."""

    code = "unknown_offer"

    def __init__(self, offer_id: str) -> None:
        super().__init__(f"There is no offer {offer_id!r}.")
        self.offer_id = offer_id


class UnknownHold(StockKeeperError):
    """There is no hold with this id for this buyer."""

    code = "unknown_hold"

    def __init__(self, hold_id: str) -> None:
        super().__init__(f"There is no hold {hold_id!r} for this buyer.")
        self.hold_id = hold_id


class InvalidState(StockKeeperError):
    """The offer is in a state that does not allow the action (closing twice, say)."""

    code = "invalid_state"

    def __init__(self, offer_id: str, state: str, action: str) -> None:
        super().__init__(f"Offer {offer_id} is {state}; it cannot be {action}.")
        self.offer_id = offer_id
        self.state = state
        self.action = action


class InvalidWindow(StockKeeperError):
    """The sale window would close before it opens, or has already closed."""

    code = "invalid_window"

    def __init__(self, opens_at: int, closes_at: int) -> None:
        super().__init__(
            f"The sale would open at {opens_at} and close at {closes_at} (epoch ms): "
            "it must close after it opens, and in the future."
        )
        self.opens_at = opens_at
        self.closes_at = closes_at


class InsufficientStock(StockKeeperError):
    """Pulling more units than are available (held and sold units cannot be pulled)."""

    code = "insufficient_stock"

    def __init__(self, available: int) -> None:
        super().__init__(f"Only {available} units are available to pull.")
        self.available = available


class HoldAlreadyConfirmed(StockKeeperError):
    """Cancelling a hold that has already been paid."""

    code = "already_confirmed"

    def __init__(self, hold_id: str, order_id: str) -> None:
        super().__init__(f"Hold {hold_id} is already paid as order {order_id}.")
        self.hold_id = hold_id
        self.order_id = order_id


async def redis_call(call: Awaitable[T]) -> T:
    """Await a Redis command, turning an unreachable Redis into :class:`StockUnavailable`."""
    try:
        return await call
    except (ConnectionError, TimeoutError, BusyLoadingError, OSError) as exc:
        raise StockUnavailable(f"Redis did not answer: {exc}") from exc
