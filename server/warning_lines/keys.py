"""Redis keys of warning lines: one hash per offer, on the offer's hash tag ``{offer:ID}``,
so the check script touches one slot with the offer's own hash and outbox."""

from __future__ import annotations

from stockkeeper.keys import PREFIX, OfferKeys

#: Set of offer ids with a warning line: the watcher's periodic pass walks it.
LINED_OFFERS = f"{PREFIX}:warning-lines"


def line_key(offer_id: str) -> str:
    """Hash: the offer's line (``units`` or ``share``), ``armed`` (1 while stock is above the
    line, ready to fire) and ``crossings`` (how many times it fired)."""
    return f"{OfferKeys(offer_id).prefix}warning-line"
