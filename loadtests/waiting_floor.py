"""The floor that waits: aiohttp's own handling of the storm's POST, plus one Redis round
trip shared by the requests of a moment, as the presses' merged script calls are.

A press must ask Redis (to reserve, or to look a retried key up), and a request that waits
costs more CPU than one that does not, for the same code: the handler suspends, its task
wakes again, and the core that sat idle while Redis worked comes back to colder caches.
Measured beside the floor (``livesale-bench costs``), this case shows what that wait alone
takes of each target's allowance, before a line of the service's own code runs.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.asyncio import Redis

from .bare_server import ANSWER

WAITING_PATH = "/waiting/offers/{offer_id}/reservations"


class MomentPing:
    """One ``PING`` for all the requests that ask in the same moment (loop turn)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pending: asyncio.Task[None] | None = None

    def wait(self) -> asyncio.Task[None]:
        """The moment's round trip, started by its first request."""
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._ping())
        return self._pending

    async def _ping(self) -> None:
        # The task runs once every request of the moment has joined it; a later request
        # starts the next moment's.
        self._pending = None
        await self._redis.ping()


def add_waiting_route(app: web.Application, redis: Redis) -> None:
    """The storm's POST on ``WAITING_PATH``: read the body, wait for the moment's round
    trip, answer the floor's constant."""
    moment = MomentPing(redis)

    async def waiting(request: web.Request) -> web.Response:
        await request.read()
        await moment.wait()
        return web.Response(body=ANSWER, status=409, content_type="application/json")

    app.router.add_post(WAITING_PATH, waiting)
