"""What features add to a show's report: a named section each (giveaways, coupons, polls,
groups, the team's audit list...), built when the show ends and frozen with the rest.

A feature registers its section where the app is wired (``app[REPORT_SECTIONS].add(...)``),
so this package never imports the features:

    async def giveaways_section(show: Show) -> dict[str, Any]:
        return {"giveaways": [...]}

    app[REPORT_SECTIONS].add("giveaways", giveaways_section)

The report then carries ``{"sections": {"giveaways": {...}, ...}}`` beside the figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .store import Show

ReportSection = Callable[[Show], Awaitable[dict[str, Any]]]


class ReportSections:
    """The sections features add to the report, in the order they were added."""

    def __init__(self) -> None:
        self._sections: dict[str, ReportSection] = {}

    def add(self, name: str, section: ReportSection) -> None:
        """Add ``section`` to every report under ``name``."""
        if name in self._sections:
            raise ValueError(f"Two features add the report section {name!r}")
        self._sections[name] = section

    async def build(self, show: Show) -> dict[str, dict[str, Any]]:
        """Every section of this show's report, built together."""
        built = await asyncio.gather(*(section(show) for section in self._sections.values()))
        return dict(zip(self._sections, built, strict=True))
