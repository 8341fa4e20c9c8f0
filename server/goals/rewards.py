"""What a reached goal starts: a registry of reward kinds, filled where the app is wired.

Features register the rewards they can start (announcements here; coupon drops and
giveaways in their own packages), so the goals package never imports them:

    app[GOAL_REWARDS].add("coupon_drop", start_coupon_drop, check=check_coupon_drop)

    async def start_coupon_drop(show: Show, spec: dict[str, Any]) -> None:
        ...  # create and start the drop described by spec; idempotent on spec["reward_id"]

``spec`` is the reward object the host set on the tier (``{"kind": "coupon_drop", ...the
kind's own fields}``) plus ``reward_id`` (stable for this tier of this show: the same on a
retry), ``room_id``, ``metric``, ``threshold`` and ``value`` (the total that crossed it).

A starter runs once per reached tier. If the process that won the tier dies before its
starter returns, another process starts it again with the same ``reward_id`` after a lease
(``REWARD_LEASE_MS``): a starter with a side effect outside Redis's one atomic step should be
idempotent on ``reward_id`` (docs/interactive.md, "Exactly once").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ErrorCode, Invalid
from ..shows.store import Show

RewardStarter = Callable[[Show, dict[str, Any]], Awaitable[None]]
#: Checks a reward's own fields when the host sets the goal; raises ``Invalid`` when wrong
#: (``invalid_reward`` says so: the reward is free-form JSON to the API's description).
RewardCheck = Callable[[dict[str, Any]], None]

#: How long the process that won a tier has to start its reward before another one retries.
REWARD_LEASE_MS = 30_000


def _no_check(spec: dict[str, Any]) -> None:
    """A reward kind whose fields need no check beyond being JSON."""


class GoalRewards:
    """The reward kinds goals can start, by name."""

    def __init__(self) -> None:
        self._starters: dict[str, RewardStarter] = {}
        self._checks: dict[str, RewardCheck] = {}

    def add(self, kind: str, starter: RewardStarter, *, check: RewardCheck | None = None) -> None:
        """Start rewards of ``kind`` with ``starter``; ``check`` vets a tier's reward fields
        when the host sets the goals (so a mistake is a 4xx then, not a failure later)."""
        if kind in self._starters:
            raise ValueError(f"Two features start the goal reward {kind!r}")
        self._starters[kind] = starter
        self._checks[kind] = check or _no_check

    def kinds(self) -> list[str]:
        """Every registered kind, sorted."""
        return sorted(self._starters)

    def check(self, spec: dict[str, Any]) -> None:
        """``unknown_reward`` for a kind nobody registered; the kind's own check otherwise."""
        kind = spec.get("kind")
        if not isinstance(kind, str) or kind not in self._starters:
            raise Invalid(
                ErrorCode.UNKNOWN_REWARD,
                f"A goal's reward kind must be one of: {', '.join(self.kinds())}.",
                kinds=self.kinds(),
            )
        self._checks[kind](spec)

    async def start(self, show: Show, spec: dict[str, Any]) -> None:
        """Start the reward ``spec`` describes (its kind was checked when it was set)."""
        starter = self._starters.get(spec["kind"])
        if starter is None:  # e.g. a process of an older version during a rolling update
            raise LookupError(f"No feature of this process starts {spec['kind']!r} rewards")
        await starter(show, spec)
