"""Request bodies of the show's team (server/api/team.py)."""

from __future__ import annotations

from typing import Literal

from .bodies import Body


class TeamRole(Body):
    """The role to give a host on the show's team."""

    role: Literal["moderator", "operator"]
