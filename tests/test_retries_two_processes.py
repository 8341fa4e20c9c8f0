"""A retried press over HTTP on two server processes: the same idempotency key gets the same
hold back from either, as the hold is now, while the offer is sold out on both."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from .helpers import create_live_offer, viewer

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.process_fixtures"]


async def press(
    session: aiohttp.ClientSession, base: str, offer_id: str, user: str, key: str
) -> tuple[int, dict[str, Any]]:
    """One press of the buy button: the status and body."""
    async with session.post(
        f"{base}/api/offers/{offer_id}/reservations",
        json={"idempotency_key": key},
        headers=viewer(user),
    ) as resp:
        return resp.status, await resp.json()


async def test_a_retry_gets_its_hold_from_either_process_while_sold_out_on_both(
    two_servers: tuple[str, str],
) -> None:
    """Guards against `409 sold_out` answered to 33 of 60 retries with `serve --workers 2`:
    the other process's sold-out flag answered before the key was looked up. And against a
    retry after paying that said `status: held`."""
    a, b = two_servers
    async with aiohttp.ClientSession() as session:
        offer_id = await create_live_offer(session, a, stock=1)
        status, first = await press(session, a, offer_id, "buyer", "press-buyer-01")
        assert status == 201
        hold = first["hold"]
        # Sold out on both processes: each has answered sold_out from Redis (its flag is up).
        for n, base in enumerate((a, b, b, a)):
            status, refused = await press(session, base, offer_id, f"late-{n}", f"press-late-{n}")
            assert (status, refused["error"]["code"]) == (409, "sold_out")

        for n in range(20):
            status, again = await press(session, (a, b)[n % 2], offer_id, "buyer", "press-buyer-01")
            assert (status, again["outcome"], again["replayed"]) == (200, "reserved", True)
            assert again["hold"] == hold

        async with session.post(
            f"{b}/api/holds/{hold['hold_id']}/confirm",
            json={"payment_ref": "psp-buyer-01"},
            headers=viewer("buyer"),
        ) as resp:
            assert (await resp.json())["outcome"] == "confirmed"
        for base in (a, b):
            status, paid = await press(session, base, offer_id, "buyer", "press-buyer-01")
            assert (status, paid["replayed"]) == (200, True)
            assert paid["hold"] == {**hold, "status": "confirmed"}
            async with session.get(
                f"{base}/api/holds/{hold['hold_id']}", headers=viewer("buyer")
            ) as resp:
                assert (await resp.json())["status"] == "confirmed"
