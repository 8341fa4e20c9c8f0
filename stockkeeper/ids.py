"""The shapes of offer and hold ids, checked before any request reaches Redis."""

from __future__ import annotations

import re

OFFER_ID = re.compile(r"^[1-9][0-9]{0,17}$")
#: "<offer>-<hex>" or, in bucket i > 0 of a hot offer, "<offer>.<i>-<hex>".
HOLD_ID = re.compile(r"^(([1-9][0-9]{0,17})(?:\.[1-9][0-9]?)?)-[0-9a-f]{16}$")


def offer_of_hold(hold_id: str) -> tuple[str, str] | None:
    """The offer and the bucket a hold id belongs to, or None when it is not a hold id."""
    match = HOLD_ID.match(hold_id)
    return (match.group(2), match.group(1)) if match else None
