"""Typed wrappers of the giveaway scripts (scripts/*.lua): each sends one giveaway's keys in
KEYS and decodes the reply into a small result; nothing else reads a script's reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis

from stockkeeper.scripts.loader import LuaFolder, preload

from .keys import GiveawayKeys

GIVEAWAY_LUA = LuaFolder("server.giveaways", "scripts", prelude="lib")
_NAMES = (
    "giveaway_create",
    "giveaway_start",
    "giveaway_enter",
    "giveaway_close",
    "giveaway_draw",
    "giveaway_claim",
)

State = Literal["draft", "open", "closing", "drawn", "unknown"]
EnterOutcome = Literal["entered", "already", "not_open", "closed", "unknown"]
DrawOutcome = Literal["drawn", "stale", "claim_window_open"]
ClaimOutcome = Literal["claimed", "already", "not_drawn", "not_winner", "window_over", "unknown"]


@dataclass(frozen=True, slots=True)
class Started:
    """giveaway_start.lua: ``started`` for this call, else the state it was already in."""

    outcome: Literal["started", "open", "closing", "drawn", "unknown"]
    ends_at: int = 0


@dataclass(frozen=True, slots=True)
class Entered:
    """giveaway_enter.lua: the outcome and the entry count after it."""

    outcome: EnterOutcome
    entries: int = 0


@dataclass(frozen=True, slots=True)
class Closed:
    """giveaway_close.lua: the state after the call, and when the window ends (ms)."""

    state: State
    ends_at: int = 0


@dataclass(frozen=True, slots=True)
class Drawn:
    """giveaway_draw.lua: ``drawn`` with its times, or why nothing was stored."""

    outcome: DrawOutcome
    drawn_at: int = 0
    claim_until: int = 0
    state: str = ""
    round: int = -1


@dataclass(frozen=True, slots=True)
class Claimed:
    """giveaway_claim.lua: the prize's order, or why there is none."""

    outcome: ClaimOutcome
    order_id: str = ""
    confirmed_at: int = 0
    claim_until: int = 0


@dataclass(frozen=True, slots=True)
class RoundToStore:
    """What a draw or redraw stores and sends to Kafka (see giveaway_draw.lua's ARGV)."""

    round: int
    entries_hash: str
    entries_count: int
    record: str
    claim_window_ms: int
    topic: str
    event_prefix: str
    claims_counted: int
    winners: Sequence[str]


class GiveawayScripts:
    """The giveaway scripts registered on one Redis client (one that decodes replies)."""

    def __init__(self, redis: Redis) -> None:
        self._scripts = {name: GIVEAWAY_LUA.register(redis, name) for name in _NAMES}

    async def preload(self, redis: Redis) -> None:
        """Load every script now, so the first giveaway does not wait for it."""
        await preload(redis, self._scripts.values())

    async def create(self, k: GiveawayKeys, fields: dict[str, str | int]) -> int | None:
        """Store a draft giveaway; its creation time, or None when the id was taken."""
        args = [part for pair in fields.items() for part in pair]
        reply = await self._scripts["giveaway_create"](keys=[k.giveaway], args=args)
        return int(reply[1]) if reply[0] == "created" else None

    async def start(self, k: GiveawayKeys, seed_hex: str, commitment: str) -> Started:
        """Open the entry window with this commitment (once)."""
        reply = await self._scripts["giveaway_start"](
            keys=[k.giveaway], args=[seed_hex, commitment]
        )
        outcome = cast(Literal["started", "open", "closing", "drawn", "unknown"], reply[0])
        return Started(outcome, int(reply[1]) if len(reply) > 1 and reply[1] else 0)

    async def enter(self, k: GiveawayKeys, user_id: str, name: str) -> Entered:
        """Add an entry (once per viewer)."""
        reply = await self._scripts["giveaway_enter"](
            keys=[k.giveaway, k.entries], args=[user_id, name]
        )
        return Entered(cast(EnterOutcome, reply[0]), int(reply[1]) if len(reply) > 1 else 0)

    async def close(self, k: GiveawayKeys) -> Closed:
        """Freeze the entries of a giveaway whose window is over."""
        reply = await self._scripts["giveaway_close"](keys=[k.giveaway])
        return Closed(cast(State, reply[0]), int(reply[1]) if len(reply) > 1 else 0)

    async def draw(self, k: GiveawayKeys, r: RoundToStore) -> Drawn:
        """Store a round's winners and its Kafka event, unless that round is done."""
        reply = await self._scripts["giveaway_draw"](
            keys=[k.giveaway, k.winners, k.rounds, k.outbox, k.claims],
            args=[
                r.round,
                r.entries_hash,
                r.entries_count,
                r.record,
                r.claim_window_ms,
                r.topic,
                k.giveaway_id,
                r.event_prefix,
                r.claims_counted,
                *r.winners,
            ],
        )
        match reply[0]:
            case "drawn":
                return Drawn("drawn", drawn_at=int(reply[1]), claim_until=int(reply[2]))
            case "claim_window_open":
                return Drawn("claim_window_open", claim_until=int(reply[1]))
        return Drawn("stale", state=str(reply[1]), round=int(reply[2]))

    async def claim(
        self, k: GiveawayKeys, user_id: str, order_id: str, shipping: str, currency: str
    ) -> Claimed:
        """Claim a prize; the order goes to the outbox with the claim."""
        reply = await self._scripts["giveaway_claim"](
            keys=[k.giveaway, k.winners, k.claims, k.outbox, k.prize_order(user_id)],
            args=[user_id, order_id, shipping, currency],
        )
        outcome = cast(ClaimOutcome, reply[0])
        match outcome:
            case "claimed":
                return Claimed(outcome, order_id=str(reply[1]), confirmed_at=int(reply[2]))
            case "already":
                return Claimed(outcome, order_id=str(reply[1]), confirmed_at=int(reply[2]))
            case "window_over":
                return Claimed(outcome, claim_until=int(reply[1]))
        return Claimed(outcome)
