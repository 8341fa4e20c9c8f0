"""What one server process remembers so sold-out requests need not run the reserve script.

A press on a flagged offer costs one read-only lookup of its idempotency key instead
(keeper.py, scripts/hold_replay.lua): a retry must get its hold back whichever process
made it, with the hold's status as it is now, and no process can know that from memory.
"""

from __future__ import annotations

import time


class SoldOutFlags:
    """Per-offer sold-out flags of this process.

    A flag is raised when Redis answers that an offer has no unit left and lowered as soon as
    a stock event says units came back (a cancel, an expired hold, a restock). Flags also
    lapse after ``max_age_s``, so a missed event costs one Redis call per offer and period,
    never a sale that stays closed while stock is there.
    """

    def __init__(self, max_age_s: float) -> None:
        self._max_age_s = max_age_s
        self._raised_at: dict[str, float] = {}

    def raise_flag(self, offer_id: str) -> None:
        """Redis said the offer has no unit left."""
        self._raised_at[offer_id] = time.monotonic()

    def lower(self, offer_id: str) -> None:
        """Units came back to the offer."""
        self._raised_at.pop(offer_id, None)

    def lower_all(self) -> None:
        """Forget every flag (stock events may have been missed)."""
        self._raised_at.clear()

    def is_sold_out(self, offer_id: str) -> bool:
        """Whether the offer's flag is up and not older than ``max_age_s``."""
        raised_at = self._raised_at.get(offer_id)
        if raised_at is None:
            return False
        if time.monotonic() - raised_at > self._max_age_s:
            del self._raised_at[offer_id]
            return False
        return True
