"""How the stock keeper tells a buyer's purchase history about a hold, knowing nothing of it.

The server's orders package (server/orders/ledger.py) implements :class:`PurchaseRecorder`
to keep a per-buyer index of holds across offers and shows ("my orders"). The index lives
in another Redis slot than the offer, so it cannot be written by the reserve or confirm
script itself: the keeper records a hold right after the script answers, on every answer
that names one (a first press, a replayed press, a payment), so a record lost to a crash
between the two is written again by the buyer's retry of the same press or payment.
"""

from __future__ import annotations

from typing import Protocol


class PurchaseRecorder(Protocol):
    """Told of each hold a buyer got or paid, on the buy path: it should batch its writes."""

    async def record(self, user_id: str, hold_id: str, at_ms: int) -> None:
        """Remember that ``user_id`` has the hold ``hold_id`` (made at ``at_ms``)."""


class NoRecorder:
    """The default recorder: nothing is remembered."""

    async def record(self, user_id: str, hold_id: str, at_ms: int) -> None:
        """Remember nothing."""
