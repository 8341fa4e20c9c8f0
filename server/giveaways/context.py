"""The giveaways in the app: one cleanup context (after the rooms', whose publisher and
watch time it uses) that builds the service, registers the report's "giveaways" section and
the goals' "giveaway" reward, and runs this process's draw checker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from ..appkeys import (
    GIVEAWAY_DRAWING,
    GIVEAWAYS,
    GOAL_REWARDS,
    KEEPER,
    REDIS,
    REPORT_SECTIONS,
    ROOM_PUBLISHER,
    SETTINGS,
    WATCH_TIME,
)
from ..shows.store import Show
from .drawing import Drawing, run_checker
from .hooks import check_spec, report_section, start_from_spec
from .service import Giveaways


async def giveaways_ctx(app: web.Application) -> AsyncIterator[None]:
    """Giveaways, with the checker that draws them when their window closes."""
    settings = app[SETTINGS].giveaways
    giveaways = Giveaways(
        app[REDIS], app[ROOM_PUBLISHER], app[KEEPER], settings, app.get(WATCH_TIME)
    )
    with contextlib.suppress(RedisError, OSError):
        await giveaways.scripts.preload(app[REDIS])
    app[GIVEAWAYS] = giveaways
    app[GIVEAWAY_DRAWING] = drawing = Drawing(giveaways)

    async def section(show: Show) -> dict[str, Any]:
        return await report_section(giveaways, show)

    async def reward(show: Show, spec: dict[str, Any]) -> None:
        await start_from_spec(giveaways, show, spec)

    app[REPORT_SECTIONS].add("giveaways", section)
    app[GOAL_REWARDS].add("giveaway", reward, check=check_spec)
    checker = asyncio.create_task(
        run_checker(drawing, settings.check_interval_s), name="giveaway checker"
    )
    try:
        yield
    finally:
        checker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checker
