"""Every Redis key of the orders package.

A buyer's index carries the hash tag of its group of buyers ``{buyers:N}`` (16 groups). An order's
tracking record carries the hash tag of the offer (or bucket) its hold lives in, so the
status script checks the hold, reads the offer and moves the tracking record in one slot.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from stockkeeper.keys import OfferKeys

from ..giveaways.keys import GiveawayKeys

PREFIX = "ls"


#: Buyers' indexes are spread over this many hash tags: the records of one moment's presses
#: that share a tag go to Redis in one script call (see purchase_record.lua).
BUYER_GROUPS = 16


def buyer_group(user_id: str) -> int:
    """The group of a buyer's index (the same in every process)."""
    return zlib.crc32(user_id.encode()) % BUYER_GROUPS


def purchases_prefix(group: int) -> str:
    """Start of the index key of every buyer of a group; the record script builds each
    buyer's key from it (same hash tag, so same cluster slot)."""
    return f"{PREFIX}:{{buyers:{group}}}:purchases:"


def records(group: int) -> str:
    """Counter of the holds recorded in a group (the key the record script is routed by)."""
    return f"{PREFIX}:{{buyers:{group}}}:recorded"


def purchases(user_id: str) -> str:
    """Sorted set of a buyer's hold ids (every offer, every show), scored by when made (ms)."""
    return purchases_prefix(buyer_group(user_id)) + user_id


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


@dataclass(frozen=True, slots=True)
class PrizeOrderKeys:
    """The same three keys for a giveaway's prize order, all in the giveaway's slot: the
    prize order's hash stands for the hold (user_id, status, order_id), the giveaway's hash
    for the offer (its room)."""

    giveaway_id: str
    user_id: str
    order_id: str

    @property
    def hold(self) -> str:
        """The prize order's hash, written by the claim (read only here)."""
        return GiveawayKeys(self.giveaway_id).prize_order(self.user_id)

    @property
    def offer(self) -> str:
        """The giveaway's hash (read only: its room)."""
        return GiveawayKeys(self.giveaway_id).giveaway

    @property
    def tracking(self) -> str:
        """Hash of the prize order's fulfilment status."""
        return GiveawayKeys(self.giveaway_id).tracking(self.order_id)
