"""How the stock keeper tells a buyer's purchase history about a hold, knowing nothing of it.

The server's orders package (server/orders/ledger.py) implements :class:`PurchaseRecorder`
to keep a per-buyer index of holds across offers and shows ("my orders"). The index lives
in another Redis slot than the offer, so the reserve script cannot write it. Instead:

- **A new hold** is written by the reserve script into its offer's records stream
  (``OfferKeys.records``) in the same step as the hold itself, so it is never lost. The
  keeper hands it to :meth:`PurchaseRecorder.noted` without waiting: the recorder writes it
  into the buyer's index behind the answer, in large batches, and deletes the stream entry
  once it is there. Were the process to die first, the sweeper finds the entry still in the
  stream and records it (:meth:`StockKeeper.record_left_over`). The press itself pays for no
  second Redis call.
- **A replayed press, a payment, a group seat** are recorded at once, before the answer
  (:meth:`PurchaseRecorder.record`): rarer, and it heals an index that lost a record.

Recording is idempotent: the same hold recorded twice is one entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol


class BuyerRecord(NamedTuple):
    """One hold for a buyer's index."""

    user_id: str
    hold_id: str
    at_ms: int


class PurchaseRecorder(Protocol):
    """Told of each hold a buyer got or paid, on the buy path: it should batch its writes."""

    async def record(self, user_id: str, hold_id: str, at_ms: int) -> None:
        """Remember that ``user_id`` has the hold ``hold_id`` (made at ``at_ms``), now."""

    def noted(self, record: BuyerRecord, entry: tuple[str, str]) -> None:
        """Remember a new hold soon, then delete its ``entry`` (stream key, entry id) from its
        offer's records stream. Must not wait: the press's answer does not."""

    async def record_all(self, records: Sequence[BuyerRecord]) -> None:
        """Remember these holds now (records the sweeper found left over)."""


class NoRecorder:
    """The default recorder: nothing is remembered (the sweeper empties the streams)."""

    async def record(self, user_id: str, hold_id: str, at_ms: int) -> None:
        """Remember nothing."""

    def noted(self, record: BuyerRecord, entry: tuple[str, str]) -> None:
        """Remember nothing."""

    async def record_all(self, records: Sequence[BuyerRecord]) -> None:
        """Remember nothing."""
