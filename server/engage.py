"""Wiring of what keeps viewers engaged between offers: polls, questions and tiered goals.

One cleanup context (after the rooms', whose publisher they use): it builds each service,
registers their report sections and the goals' "announcement" reward, and runs their
background loops for the app's life.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from .appkeys import (
    GOAL_REWARDS,
    GOALS,
    KEEPER,
    POLLS,
    QUESTIONS,
    REDIS,
    REPORT_SECTIONS,
    ROOM_PUBLISHER,
    SHOWS,
)
from .goals.announcement import Announcer, check_announcement
from .goals.goals import Goals
from .goals.watcher import GoalWatcher
from .polls.polls import Polls
from .questions.questions import Questions


async def engage_ctx(app: web.Application) -> AsyncIterator[None]:
    """Polls, questions and goals, with their loops."""
    redis, publisher = app[REDIS], app[ROOM_PUBLISHER]
    app[POLLS] = polls = Polls(redis, publisher)
    app[QUESTIONS] = questions = Questions(redis, publisher)
    app[GOALS] = goals = Goals(redis, publisher, app[KEEPER], app[GOAL_REWARDS])
    announcer = Announcer(goals.scripts, publisher.settings.history_length)
    app[GOAL_REWARDS].add("announcement", announcer.start, check=check_announcement)
    sections = app[REPORT_SECTIONS]
    sections.add("polls", polls.report_section)
    sections.add("questions", questions.report_section)
    sections.add("goals", goals.report_section)
    watcher = asyncio.create_task(GoalWatcher(goals, app[SHOWS]).run(), name="goal watcher")
    await polls.start_loop()
    await questions.start_loop()
    yield
    await questions.stop_loop()
    await polls.stop_loop()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
