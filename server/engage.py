"""Wiring of what keeps viewers engaged between offers: polls, questions and tiered goals.

One cleanup context (after the rooms', whose publisher they use): it builds each service,
registers their report sections and the goals' "announcement" reward, and runs their
background loops for the app's life.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from .appkeys import POLLS, REDIS, REPORT_SECTIONS, ROOM_PUBLISHER
from .polls.polls import Polls


async def engage_ctx(app: web.Application) -> AsyncIterator[None]:
    """Polls, questions and goals, with their loops."""
    redis, publisher = app[REDIS], app[ROOM_PUBLISHER]
    app[POLLS] = polls = Polls(redis, publisher)
    app[REPORT_SECTIONS].add("polls", polls.report_section)
    await polls.start_loop()
    yield
    await polls.stop_loop()
