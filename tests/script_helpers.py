"""Helpers of the script tests: an offer set up with the scripts themselves, and a press."""

from __future__ import annotations

import secrets
from typing import Any

from stockkeeper.models import ReserveResult
from stockkeeper.scripts.holds import hold_reserve
from stockkeeper.scripts.offers import offer_create, offer_open
from stockkeeper.scripts.registry import Scripts

from .helpers import spec

#: The offer most script tests use; any id works, the scripts never make one up.
OFFER = "7"
#: Idempotency keys' lifetime in these tests (seconds).
TTL = 3600


async def draft(scripts: Scripts, offer_id: str = OFFER, **overrides: Any) -> None:
    """A draft offer (room-1, 1999 EUR cents a unit, 10 units, one per buyer by default)."""
    offer = spec(**overrides)
    created = await offer_create(scripts, offer_id, offer, offer.stock, "")
    assert created.outcome == "created"


async def live(scripts: Scripts, offer_id: str = OFFER, **overrides: Any) -> None:
    """An offer on sale now, for ten minutes."""
    await draft(scripts, offer_id, **overrides)
    assert (await offer_open(scripts, offer_id, 0, 600_000)).outcome == "open"


async def press(
    scripts: Scripts, user: str, quantity: int = 1, key: str = "", offer_id: str = OFFER
) -> ReserveResult:
    """One press of the buy button (a fresh idempotency key unless ``key`` is given)."""
    hold_id = f"{offer_id}-{secrets.token_hex(8)}"
    return await hold_reserve(
        scripts, offer_id, user, quantity, hold_id, key or secrets.token_hex(6), TTL
    )


async def held(scripts: Scripts, user: str, quantity: int = 1, offer_id: str = OFFER) -> str:
    """The id of a new hold of ``user``."""
    result = await press(scripts, user, quantity, offer_id=offer_id)
    assert result.outcome == "reserved"
    assert result.hold_id
    return result.hold_id
