"""Request bodies of stock warning lines (server/api/warning_lines.py)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from .bodies import MAX_STOCK, Body


class WarningLineBody(Body):
    """An offer's warning line: units left, or a share of its total stock (not both; both
    0 clears it)."""

    units: Annotated[int, Meta(ge=0, le=MAX_STOCK, extra={"hint": "units left, 0 = none"})] = 0
    share: Annotated[
        float, Meta(ge=0.0, le=1.0, extra={"hint": "a share of total stock, 0-1, e.g. 0.1"})
    ] = 0.0
