"""The show's team and audit list in the app, with the report's "audit" section."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ..appkeys import AUDIT_LOG, REDIS, REPORT_SECTIONS, TEAM
from .audit import AuditLog
from .store import Show
from .team import Team


async def team_ctx(app: web.Application) -> AsyncIterator[None]:
    """Teams and audit lists; every report gets the show's audit list and team."""
    app[TEAM] = team = Team(app[REDIS])
    app[AUDIT_LOG] = audit_log = AuditLog(app[REDIS])

    async def audit_section(show: Show) -> dict[str, Any]:
        members = await team.members(show.room_id)
        return {
            "owner": show.host_id,
            "team": [{"host_id": m.host_id, "role": m.role.value} for m in members],
            "entries": await audit_log.entries(show.room_id),
        }

    app[REPORT_SECTIONS].add("audit", audit_section)
    yield
