"""Request bodies of group buying (server/api/groups.py), as typed msgspec Structs."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from stockkeeper.groups import MAX_SIZE, MAX_WINDOW_S, MIN_SIZE, MIN_WINDOW_S

from .bodies import Body, IdempotencyKey, OfferId

GroupSize = Annotated[
    int, Meta(ge=MIN_SIZE, le=MAX_SIZE, extra={"hint": f"{MIN_SIZE}-{MAX_SIZE} members"})
]
WindowMinutes = Annotated[
    int,
    Meta(
        ge=MIN_WINDOW_S // 60,
        le=MAX_WINDOW_S // 60,
        extra={"hint": f"{MIN_WINDOW_S // 60}-{MAX_WINDOW_S // 60} minutes"},
    ),
]


class GroupTerms(Body):
    """A host makes an offer a group offer: ``group_size`` members at ``group_price``
    (below the offer's price) within ``window_minutes`` of a group's start."""

    group_price: Annotated[int, Meta(ge=0, le=10**9)]
    group_size: GroupSize
    window_minutes: WindowMinutes
    #: Open groups are listed in the room for anyone to join; otherwise by invitation only.
    open_groups: bool = True


class StartGroup(Body):
    """A viewer starts a group (a fresh idempotency key per press)."""

    idempotency_key: IdempotencyKey


class JoinGroup(Body):
    """A viewer joins a group (a fresh idempotency key per press)."""

    idempotency_key: IdempotencyKey


class GroupStartMessage(Body):
    """``{"type": "group_start"}``: start a group of an offer over the room socket."""

    offer_id: OfferId
    idempotency_key: IdempotencyKey


class GroupJoinMessage(Body):
    """``{"type": "group_join"}``: join a group over the room socket."""

    group_id: Annotated[str, Meta(max_length=40)]
    idempotency_key: IdempotencyKey
