"""Who runs which room, and the show record of each room."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis

from ..errors import Conflict, ErrorCode, Forbidden, NotFound
from ..hosts import keys as host_keys
from ..room.keys import RoomKeys
from .team import RIGHTS, Right, Role, Team

ShowStatus = Literal["draft", "live", "ended"]


@dataclass(frozen=True, slots=True)
class Show:
    """A show: its room, title, host and where it is in its life."""

    room_id: str
    host_id: str
    title: str
    status: ShowStatus
    created_at: int
    live_at: int
    ended_at: int
    #: The schedule and the stage (server/shows/schedule.py): when it starts (epoch ms, 0 =
    #: not announced), a cover image and a description for its preview, the live HLS
    #: stream and, after the show, its replay.
    starts_at: int = 0
    cover_url: str = ""
    description: str = ""
    stream_url: str = ""
    replay_url: str = ""


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class ShowAccess:
    """A host's access to a show: the show, and the host's role in it."""

    show: Show
    role: Role


def not_your_room() -> Forbidden:
    """The error for a host acting on a room another host runs."""
    return Forbidden(ErrorCode.NOT_YOUR_ROOM, "Another host runs this room.")


class ShowStore:
    """The show records of rooms, and who runs each room."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def claim(self, room_id: str, host_id: str) -> None:
        """Make sure ``host_id`` runs the room: the first host to act on a room owns it."""
        previous = await self.redis.set(RoomKeys(room_id).owner, host_id, nx=True, get=True)
        if previous is not None and previous != host_id:
            raise not_your_room()

    async def create(self, room_id: str, host_id: str, title: str) -> Show:
        """A new draft show in a room no other show has."""
        await self.claim(room_id, host_id)
        k = RoomKeys(room_id)
        now = _now_ms()
        if not await self.redis.hsetnx(k.show, "title", title):
            raise Conflict(
                ErrorCode.SHOW_EXISTS, "This room already has a show; pick another name."
            )
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(
            k.show,
            mapping={"host_id": host_id, "status": "draft", "created_at": now},
        )
        pipe.zadd(host_keys.host_shows(host_id), {room_id: now})
        await pipe.execute()
        return Show(room_id, host_id, title, "draft", now, 0, 0)

    async def get(self, room_id: str) -> Show | None:
        """The room's show, if it has one."""
        raw = cast(dict[str, str], await self.redis.hgetall(RoomKeys(room_id).show))
        return _show(room_id, raw)

    async def require(self, room_id: str, host_id: str) -> Show:
        """The host's own show in this room; NotFound without one, Forbidden for others'."""
        show = await self.get(room_id)
        if show is None:
            raise NotFound(ErrorCode.UNKNOWN_SHOW, "There is no show in this room.")
        if show.host_id != host_id:
            raise not_your_room()
        return show

    async def require_role(self, room_id: str, host_id: str, right: Right) -> ShowAccess:
        """The show and the host's role in it, when that role gives ``right``: NotFound
        without a show, 403 ``not_your_room`` off the team, 403 ``role_forbids`` else."""
        show = await self.get(room_id)
        if show is None:
            raise NotFound(ErrorCode.UNKNOWN_SHOW, "There is no show in this room.")
        if show.host_id == host_id:
            return ShowAccess(show, Role.OWNER)
        return ShowAccess(show, await self._team_role(room_id, host_id, right))

    async def require_right(self, room_id: str, host_id: str, right: Right) -> Role:
        """The host's role in a room (with or without a show), when it gives ``right``: the
        room's owner is the first host to act on it (claim); others need a team role."""
        previous = await self.redis.set(RoomKeys(room_id).owner, host_id, nx=True, get=True)
        if previous is None or previous == host_id:
            return Role.OWNER
        return await self._team_role(room_id, host_id, right)

    async def _team_role(self, room_id: str, host_id: str, right: Right) -> Role:
        role = await Team(self.redis).role_of(room_id, host_id)
        if role is None:
            raise not_your_room()
        if right not in RIGHTS[role]:
            raise Forbidden(
                ErrorCode.ROLE_FORBIDS,
                f"As {role.value} of this show you may not do this ({right.value}).",
                role=role.value,
                right=right.value,
            )
        return role

    async def for_host(self, host_id: str) -> list[Show]:
        """The host's latest 100 shows, newest first."""
        room_ids = cast(list[str], await self.redis.zrevrange(host_keys.host_shows(host_id), 0, 99))
        pipe = self.redis.pipeline(transaction=False)
        for room_id in room_ids:
            pipe.hgetall(RoomKeys(room_id).show)
        shows = [
            _show(room_id, raw) for room_id, raw in zip(room_ids, await pipe.execute(), strict=True)
        ]
        return [show for show in shows if show is not None]

    async def go_live(self, show: Show) -> Show:
        """The show, live (going live twice is fine; after the end it is not)."""
        if show.status == "ended":
            raise Conflict(ErrorCode.SHOW_ENDED, "This show has ended; create a new one.")
        if show.status == "live":
            return show
        now = _now_ms()
        await self.redis.hset(
            RoomKeys(show.room_id).show, mapping={"status": "live", "live_at": now}
        )
        return dataclasses.replace(show, status="live", live_at=now)

    async def end(self, show: Show) -> Show:
        """The show, ended."""
        now = _now_ms()
        await self.redis.hset(
            RoomKeys(show.room_id).show, mapping={"status": "ended", "ended_at": now}
        )
        return dataclasses.replace(show, status="ended", ended_at=now)

    async def set_up(self, show: Show, changes: Mapping[str, str | int]) -> Show:
        """The show with some of its schedule and stage fields changed (others kept)."""
        if changes:
            await self.redis.hset(
                RoomKeys(show.room_id).show,
                items=[part for change in changes.items() for part in change],
            )
        return dataclasses.replace(show, **changes)  # type: ignore[arg-type]

    async def save_report(self, room_id: str, report: bytes) -> None:
        """Keep the frozen report of an ended show."""
        await self.redis.set(RoomKeys(room_id).report, report)

    async def saved_report(self, room_id: str) -> str | None:
        """The frozen report, once written."""
        return cast(str | None, await self.redis.get(RoomKeys(room_id).report))


def _show(room_id: str, raw: dict[str, str]) -> Show | None:
    if "host_id" not in raw:
        return None
    return Show(
        room_id=room_id,
        host_id=raw["host_id"],
        title=raw["title"],
        status=cast(ShowStatus, raw["status"]),
        created_at=int(raw["created_at"]),
        live_at=int(raw.get("live_at", 0)),
        ended_at=int(raw.get("ended_at", 0)),
        starts_at=int(raw.get("starts_at", 0)),
        cover_url=raw.get("cover_url", ""),
        description=raw.get("description", ""),
        stream_url=raw.get("stream_url", ""),
        replay_url=raw.get("replay_url", ""),
    )
