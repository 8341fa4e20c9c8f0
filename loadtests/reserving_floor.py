"""The floor that reserves: aiohttp's own handling of the storm's POST, plus the one thing a
reserving press cannot do without, the reservation's script call (merged with the other
presses of the moment, as the stock keeper merges them), answered with the hold.

Nothing else of the service runs: no token is checked (the viewer is looked up from the
header, as a verified token is found in the service's cache), the body is parsed but not
validated, no ban list or sold-out flag is asked, no buyer record is written behind for
My orders, no room hears of the stock, and no metric counts the request. Measured beside
the floor (``livesale-bench costs``), it shows how much of the reserving target (≤ 1.8 x
the floor) aiohttp, the wait and Redis's reply leave for what the service itself promises.
"""

from __future__ import annotations

import random

import orjson
from aiohttp import web

from stockkeeper.scripts.holds import hold_reserve
from stockkeeper.scripts.registry import Scripts

RESERVING_PATH = "/reserving/offers/{offer_id}/reservations"


def add_reserving_route(
    app: web.Application, scripts: Scripts, viewers: dict[str, str], key_ttl_s: int
) -> None:
    """The storm's POST on ``RESERVING_PATH``: reserve one press's units for the viewer its
    ``Authorization`` header names in ``viewers`` (header → user id), keeping the press's
    key ``key_ttl_s``; answer 201 with the hold (or 409 with the script's outcome: the
    benchmark counts that as a failed case)."""
    ids = random.Random()

    async def reserving(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        offer_id = request.match_info["offer_id"]
        result = await hold_reserve(
            scripts,
            offer_id,
            viewers[request.headers["Authorization"]],
            body["quantity"],
            f"{offer_id}-{ids.getrandbits(64):016x}",
            body["idempotency_key"],
            key_ttl_s,
        )
        if result.outcome != "reserved":
            return web.json_response({"error": {"code": result.outcome}}, status=409)
        answer = {
            "hold_id": result.hold_id,
            "quantity": result.quantity,
            "deadline": result.deadline,
            "available": result.available,
        }
        return web.Response(body=orjson.dumps(answer), status=201, content_type="application/json")

    app.router.add_post(RESERVING_PATH, reserving)
