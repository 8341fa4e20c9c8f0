"""A show's team: the owner adds other hosts by account as moderator or operator.

Rights, by role (docs/hosts.md has the table):

- moderator: the chat (delete, mute, ban, slow mode, blocked words, pin a message,
  announcements, answer questions) and the show's live numbers;
- operator: a moderator's rights, plus the offers (add, launch, pause, close, restock,
  pull, pin), the interactive activities, and going live;
- owner (the host who created the show, or the first host to act on a room): every right;
  only the owner ends the show, manages the team, downloads the report and reconciles.

The check itself is ``ShowStore.require_role`` / ``ShowStore.require_right``
(server/shows/store.py); the API calls it through ``server/api/auth.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from redis.asyncio import Redis

from ..room.keys import PREFIX, RoomKeys


class Role(StrEnum):
    """What a host is to a show."""

    OWNER = "owner"
    OPERATOR = "operator"
    MODERATOR = "moderator"


class Right(StrEnum):
    """What a host may do in a show."""

    #: See the show's dashboard and live numbers.
    VIEW_NUMBERS = "view_numbers"
    #: Chat moderation: delete, mute, ban, slow mode, blocked words, pinned message,
    #: announcements, questions.
    MODERATE_CHAT = "moderate_chat"
    #: Offers (add, launch, pause, close, restock, pull, pin) and the interactive
    #: activities (giveaways, polls, coupons, goals, groups).
    RUN_OFFERS = "run_offers"
    #: Take the show live.
    GO_LIVE = "go_live"
    #: End the show.
    END_SHOW = "end_show"
    #: Add and remove team members.
    MANAGE_TEAM = "manage_team"
    #: Download the report, and reconcile the show's stock.
    DOWNLOAD_REPORT = "download_report"


#: The rights of each role.
RIGHTS: dict[Role, frozenset[Right]] = {
    Role.MODERATOR: frozenset({Right.VIEW_NUMBERS, Right.MODERATE_CHAT}),
    Role.OPERATOR: frozenset(
        {Right.VIEW_NUMBERS, Right.MODERATE_CHAT, Right.RUN_OFFERS, Right.GO_LIVE}
    ),
    Role.OWNER: frozenset(Right),
}

#: Roles the owner may give (the owner is whoever created the show).
TEAM_ROLES = (Role.MODERATOR, Role.OPERATOR)


def team_key(room_id: str) -> str:
    """Hash: host id -> role, the show's team besides its owner."""
    return f"{RoomKeys(room_id).show}:team"


def host_team_shows(host_id: str) -> str:
    """Sorted set: room ids of shows the host is on the team of, by when they were added."""
    return f"{PREFIX}:host:{host_id}:team-shows"


@dataclass(frozen=True, slots=True)
class Member:
    """A team member: a host account and its role."""

    host_id: str
    role: Role


class Team:
    """Every show's team, kept in Redis beside the show."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def role_of(self, room_id: str, host_id: str) -> Role | None:
        """The host's role on the show's team (not the owner's), if any."""
        return _team_role(cast(str | None, await self.redis.hget(team_key(room_id), host_id)))

    async def members(self, room_id: str) -> list[Member]:
        """The show's team, sorted by host id."""
        raw = cast(dict[str, str], await self.redis.hgetall(team_key(room_id)))
        return [Member(host_id, Role(role)) for host_id, role in sorted(raw.items())]

    async def put(self, room_id: str, host_id: str, role: Role, now_ms: int) -> Member:
        """Add the host to the team with ``role``, or change their role."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(team_key(room_id), host_id, role.value)
        pipe.zadd(host_team_shows(host_id), {room_id: now_ms}, nx=True)
        await pipe.execute()
        return Member(host_id, role)

    async def remove(self, room_id: str, host_id: str) -> bool:
        """Take the host off the team; False if they were not on it."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(team_key(room_id), host_id)
        pipe.zrem(host_team_shows(host_id), room_id)
        removed, _ = await pipe.execute()
        return bool(removed)

    async def shows_of(self, host_id: str) -> dict[str, Role]:
        """The latest 100 shows the host is on the team of, with the role in each."""
        room_ids = cast(list[str], await self.redis.zrevrange(host_team_shows(host_id), 0, 99))
        pipe = self.redis.pipeline(transaction=False)
        for room_id in room_ids:
            pipe.hget(team_key(room_id), host_id)
        roles = cast(list[str | None], await pipe.execute())
        found = {room_id: _team_role(role) for room_id, role in zip(room_ids, roles, strict=True)}
        return {room_id: role for room_id, role in found.items() if role is not None}


def _team_role(raw: str | None) -> Role | None:
    """A role kept on a team, or None (not on it, or a value no team role has)."""
    for role in TEAM_ROLES:
        if raw == role.value:
            return role
    return None
