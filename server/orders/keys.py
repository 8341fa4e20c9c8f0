"""Every Redis key of the orders package.

A buyer's index carries the hash tag ``{user:ID}`` (one slot per buyer). An order's
tracking record carries the hash tag of the offer (or bucket) its hold lives in, so the
status script checks the hold, reads the offer and moves the tracking record in one slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from stockkeeper.keys import OfferKeys

PREFIX = "ls"


def purchases(user_id: str) -> str:
    """Sorted set of a buyer's hold ids (every offer, every show), scored by when made (ms)."""
    return f"{PREFIX}:{{user:{user_id}}}:purchases"


@dataclass(frozen=True, slots=True)
class OrderKeys:
    """The keys the status script touches for one order: all in the hold's slot."""

    bucket: str
    hold_id: str
    order_id: str

    @property
    def hold(self) -> str:
        """The stock keeper's hash of the hold the order paid (read only here)."""
        return OfferKeys(self.bucket).hold(self.hold_id)

    @property
    def offer(self) -> str:
        """The stock keeper's hash of the offer (read only: its room)."""
        return OfferKeys(self.bucket).offer

    @property
    def tracking(self) -> str:
        """Hash of the order's fulfilment status: status, at, carrier, tracking..."""
        return f"{OfferKeys(self.bucket).prefix}tracking:{self.order_id}"
