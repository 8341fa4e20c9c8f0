"""Warning lines in the app: the lines, and the watcher beside the room hub."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from ..appkeys import KEEPER, REDIS, ROOM_PUBLISHER, SETTINGS, WARNING_WATCHER
from .lines import WarningLines
from .watcher import BothListeners, WarningWatcher


async def warning_lines_ctx(app: web.Application) -> AsyncIterator[None]:
    """The warning watcher, told of stock changes with the hub; after the rooms."""
    keeper = app[KEEPER]
    lines = WarningLines(app[REDIS], app[SETTINGS].stock_warnings_topic)
    watcher = WarningWatcher(lines, keeper, app[ROOM_PUBLISHER])
    app[WARNING_WATCHER] = watcher
    hub = keeper.listener
    keeper.listener = BothListeners(hub, watcher)
    task = asyncio.create_task(watcher.run(), name="warning lines")
    try:
        yield
    finally:
        keeper.listener = hub
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
