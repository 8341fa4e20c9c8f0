"""The audience figures in the app: the per-minute sampler, and the report's "audience"
section (watch time, the rates' definitions, the timeline)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ..appkeys import KEEPER, MINUTE_NUMBERS, REDIS, REPORT_SECTIONS, SETTINGS, WATCH_TIME
from ..shows.store import Show
from .numbers import MinuteNumbers
from .rates import DEFINITIONS


def show_span(show: Show, now_ms: int) -> tuple[int, int]:
    """The show's minutes: from going live (or its creation) to its end (or now)."""
    return show.live_at or show.created_at, show.ended_at or now_ms


async def audience_figures(app: web.Application, show: Show, now_ms: int) -> dict[str, Any]:
    """Watch time, the definitions of the rates, and the timeline of the show so far."""
    numbers, watch = app[MINUTE_NUMBERS], app[WATCH_TIME]
    summary = await watch.summary(show.room_id, now_ms)
    minutes = await numbers.timeline(show.room_id, *show_span(show, now_ms))
    return {
        "watch_time": summary.as_dict(),
        "definitions": DEFINITIONS,
        "timeline": [minute.as_dict() for minute in minutes],
    }


async def audience_ctx(app: web.Application) -> AsyncIterator[None]:
    """Per-minute numbers, sampled while this process has viewers; after the rooms."""
    settings = app[SETTINGS].audience
    watch = app[WATCH_TIME]
    numbers = MinuteNumbers(app[REDIS], app[KEEPER], watch)
    app[MINUTE_NUMBERS] = numbers

    async def audience_section(show: Show) -> dict[str, Any]:
        now_ms = watch.clock()
        await numbers.sample(show.room_id, now_ms)  # the last minute, up to the end
        return await audience_figures(app, show, now_ms)

    app[REPORT_SECTIONS].add("audience", audience_section)
    task = asyncio.create_task(
        numbers.run(settings.sample_interval_s, lambda: watch.clock()), name="numbers sampler"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
