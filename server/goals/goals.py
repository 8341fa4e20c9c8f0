"""A show's tiered goals: set by its host, read by viewers' progress bars, and the state
the watcher (watcher.py) moves on when the show's totals cross a tier.

The figure is the show's ``units`` sold or its ``gmv`` (units sold times their unit price,
as the dashboard counts it) in one currency the host names: offers in other currencies do
not count towards it. Holds not yet paid do not count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper

from ..errors import Conflict, ErrorCode, Invalid
from ..room.publisher import RoomPublisher
from ..shows.store import Show
from .goal_scripts import GoalScripts
from .keys import WATCHED, GoalKeys
from .rewards import GoalRewards


@dataclass(frozen=True, slots=True)
class Ladder:
    """The goals as set: the figure, its currency (GMV only) and the tiers, lowest first."""

    metric: str
    currency: str | None
    tiers: list[dict[str, Any]]

    @property
    def metric_key(self) -> str:
        """The figure and currency in one word: a reached tier stays reached only for it."""
        return f"gmv:{self.currency}" if self.metric == "gmv" else "units"


@dataclass(frozen=True, slots=True)
class GoalState:
    """What Redis holds of a show's goals, read in one round trip."""

    ladder: Ladder
    version: int
    reached: dict[int, dict[str, Any]]
    status: dict[int, str]
    lease: dict[str, str]


def _label(reward: dict[str, Any], label: str | None) -> str:
    if label:
        return label
    text = reward.get("text") or reward.get("title") or reward.get("kind", "")
    return str(text)[:80]


class Goals:
    """Every show's goals, over a Redis client that decodes answers."""

    def __init__(
        self,
        redis: Redis,
        publisher: RoomPublisher,
        keeper: StockKeeper,
        rewards: GoalRewards,
    ) -> None:
        self.redis = redis
        self.publisher = publisher
        self.keeper = keeper
        self.rewards = rewards
        self.scripts = GoalScripts(redis)

    async def set(
        self, show: Show, metric: str, currency: str | None, tiers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Replace the show's goals (keeping tiers already reached); viewers get ``goals_set``."""
        previous = 0
        for i, tier in enumerate(tiers):
            if tier["threshold"] <= previous:
                raise Invalid(
                    ErrorCode.THRESHOLDS_NOT_INCREASING,
                    f"Tier {i + 1}: each threshold must be above the one before.",
                    tier=i,
                )
            previous = tier["threshold"]
            self.rewards.check(tier["reward"])
        if metric == "units":
            currency = None
        elif currency is None:
            currency = await self._show_currency(show.room_id)
        ladder = Ladder(
            metric,
            currency,
            [{**tier, "label": _label(tier["reward"], tier.get("label"))} for tier in tiers],
        )
        k = GoalKeys(show.room_id)
        reply = await self.scripts.set(
            k,
            orjson.dumps({"metric": metric, "currency": currency, "tiers": ladder.tiers}),
            ladder.metric_key,
            [tier["threshold"] for tier in tiers],
        )
        if reply.outcome == "reached":
            raise Conflict(
                ErrorCode.GOAL_REACHED,
                "The show already reached a tier these goals drop or measure differently; "
                "keep it and add tiers above it.",
                threshold=reply.threshold,
            )
        await self.redis.sadd(WATCHED, show.room_id)
        view = await self.view(show.room_id)
        await self.publisher.publish(show.room_id, "goals_set", {"goals": view})
        return view

    async def _show_currency(self, room_id: str) -> str:
        """The one currency of the show's offers: GMV goals count in it by default."""
        currencies = {offer.currency for offer in await self.keeper.room_offers(room_id)}
        if len(currencies) != 1:
            raise Invalid(
                ErrorCode.CURRENCY_NEEDED,
                "Name the goals' currency: the show's offers do not have one currency"
                + (f" ({', '.join(sorted(currencies))})." if currencies else " yet."),
            )
        return currencies.pop()

    async def state(self, room_id: str) -> GoalState | None:
        """The show's goals as Redis holds them; None without goals."""
        k = GoalKeys(room_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(k.goals)
        pipe.hgetall(k.reached)
        pipe.hgetall(k.status)
        pipe.hgetall(k.lease)
        goals, reached, status, lease = cast(list[dict[str, str]], await pipe.execute())
        if "ladder" not in goals:
            return None
        raw = orjson.loads(goals["ladder"])
        return GoalState(
            Ladder(raw["metric"], raw["currency"], raw["tiers"]),
            int(goals["version"]),
            {int(t): orjson.loads(record) for t, record in reached.items()},
            {int(t): value for t, value in status.items()},
            lease,
        )

    async def total(self, room_id: str, ladder: Ladder) -> int:
        """The show's figure now: units sold, or GMV in the goals' currency."""
        offers = await self.keeper.room_offers(room_id)
        if ladder.metric == "units":
            return sum(offer.sold for offer in offers)
        return sum(
            offer.sold * offer.unit_price for offer in offers if offer.currency == ladder.currency
        )

    async def view(self, room_id: str) -> dict[str, Any]:
        """The goals with the figure now and each tier's state (no goals: no tiers)."""
        state = await self.state(room_id)
        if state is None:
            return {"room_id": room_id, "metric": None, "currency": None, "value": 0, "tiers": []}
        value = await self.total(room_id, state.ladder)
        return {
            "room_id": room_id,
            "metric": state.ladder.metric,
            "currency": state.ladder.currency,
            "value": value,
            "tiers": [_tier_view(tier, state) for tier in state.ladder.tiers],
        }

    async def report_section(self, show: Show) -> dict[str, Any]:
        """The show report's ``goals`` section: the goals, the final figure, what was reached
        (when, at what figure) and whether each reward started."""
        view = await self.view(show.room_id)
        state = await self.state(show.room_id)
        reached = [] if state is None else [state.reached[t] for t in sorted(state.reached)]
        return {**view, "reached": reached}


def _tier_view(tier: dict[str, Any], state: GoalState) -> dict[str, Any]:
    threshold = int(tier["threshold"])
    record = state.reached.get(threshold)
    return {
        "threshold": threshold,
        "label": tier["label"],
        "kind": tier["reward"]["kind"],
        "reached": record is not None,
        "reached_at_ms": record["reached_at_ms"] if record else None,
        "reward_status": state.status.get(threshold),
    }


def now_ms() -> int:
    """This process's clock in epoch ms (leases are compared with Redis's in the scripts)."""
    return int(time.time() * 1000)
