"""Host endpoints of a show's team (the owner adds moderators and operators) and its audit
list (docs/hosts.md)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..appkeys import AUDIT_LOG, HOST_ACCOUNTS, TEAM
from ..errors import Conflict, ErrorCode, NotFound
from ..shows.team import RIGHTS, Right, Role
from .auth import require_show_right
from .described import Auth, Reader, Shape, answers, takes
from .responses import json_response
from .routing import Routes
from .team_bodies import TeamRole

_SHOW = {
    403: (ErrorCode.NOT_YOUR_ROOM, ErrorCode.ROLE_FORBIDS),
    404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW),
}


class TeamMember(Shape):
    """A host on the show's team, with their role and what it may do."""

    host_id: str
    role: Role
    rights: list[Right]


class TeamList(Shape):
    """The show's owner and team."""

    owner: str
    members: list[TeamMember]


class AuditEntry(Shape):
    """One host action: when, who (and their role), what, and its details."""

    at_ms: int
    host_id: str
    role: str
    action: str
    detail: Any


class AuditList(Shape):
    """Every host action in the show so far, oldest first."""

    entries: list[AuditEntry]


def _member(host_id: str, role: Role) -> dict[str, object]:
    return {"host_id": host_id, "role": role, "rights": sorted(RIGHTS[role])}


@answers(Auth.ROOM_HOST, {200: TeamList}, _SHOW)
async def team_list(request: web.Request) -> web.Response:
    """The show's team (the owner only)."""
    show = (await require_show_right(request, Right.MANAGE_TEAM)).show
    members = await request.app[TEAM].members(show.room_id)
    return json_response(
        {"owner": show.host_id, "members": [_member(m.host_id, m.role) for m in members]}
    )


@answers(
    Auth.ROOM_HOST,
    {200: TeamMember},
    {
        **_SHOW,
        404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW, ErrorCode.UNKNOWN_HOST),
        409: (ErrorCode.OWNER_NOT_MEMBER,),
    },
)
@takes(TeamRole)
async def put_member(request: web.Request, read: Reader[TeamRole]) -> web.Response:
    """Add a host account to the show's team with a role, or change their role (the owner
    only)."""
    show = (await require_show_right(request, Right.MANAGE_TEAM)).show
    body = await read()
    host_id = request.match_info["host_id"]
    if host_id == show.host_id:
        raise Conflict(ErrorCode.OWNER_NOT_MEMBER, "The show's owner has every right already.")
    if await request.app[HOST_ACCOUNTS].get(host_id) is None:
        raise NotFound(ErrorCode.UNKNOWN_HOST, "No host account has this name.")
    role = Role(body.role)
    await request.app[TEAM].put(show.room_id, host_id, role, int(time.time() * 1000))
    return json_response(_member(host_id, role))


@answers(Auth.ROOM_HOST, {204: None}, {**_SHOW, 404: (*_SHOW[404], ErrorCode.NOT_ON_TEAM)})
async def remove_member(request: web.Request) -> web.Response:
    """Take a host off the show's team (the owner only)."""
    show = (await require_show_right(request, Right.MANAGE_TEAM)).show
    if not await request.app[TEAM].remove(show.room_id, request.match_info["host_id"]):
        raise NotFound(ErrorCode.NOT_ON_TEAM, "This host is not on the show's team.")
    return web.Response(status=204)


@answers(Auth.ROOM_HOST, {200: AuditList}, _SHOW)
async def audit_list(request: web.Request) -> web.Response:
    """Every host action in the show so far, with who did it (the owner only)."""
    show = (await require_show_right(request, Right.MANAGE_TEAM)).show
    return json_response({"entries": await request.app[AUDIT_LOG].entries(show.room_id)})


def add_routes(app: web.Application) -> None:
    """The team routes."""
    routes = Routes(app)
    routes.get("/api/shows/{room_id}/team", team_list)
    routes.put("/api/shows/{room_id}/team/{host_id}", put_member)
    routes.delete("/api/shows/{room_id}/team/{host_id}", remove_member)
    routes.get("/api/shows/{room_id}/audit", audit_list)
