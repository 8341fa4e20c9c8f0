"""Typed wrappers of the coupon scripts (scripts/*.lua): claim, grab, start, end, lock,
settle, and the hold's side of a lock's fate. Each sends its keys in KEYS and decodes the
reply into a small result; nothing else reads a coupon script's reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis

from stockkeeper.batcher import ScriptBatcher
from stockkeeper.keys import OfferKeys
from stockkeeper.scripts.loader import LuaFolder, preload

from .keys import ActivityKeys

COUPON_LUA = LuaFolder("server.coupons", "scripts", prelude="lib")
_NAMES = (
    "drop_claim",
    "rain_grab",
    "activity_start",
    "activity_end",
    "item_lock",
    "item_settle",
    "hold_benefit_fate",
)

ClaimOutcome = Literal[
    "claimed", "not_live", "window_over", "exhausted", "already_claimed", "unknown"
]
LockOutcome = Literal["locked", "in_use", "spent_here", "spent", "expired", "other_show", "unknown"]


@dataclass(frozen=True, slots=True)
class ClaimReply:
    """drop_claim.lua / rain_grab.lua: the item claimed (a coupon or a packet), or why not.
    ``count`` / ``total``: claimed so far and the quota (packets for a rain)."""

    outcome: ClaimOutcome
    item_id: str = ""
    amount: int = 0
    replayed: bool = False
    count: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class StartReply:
    """activity_start.lua: the claim window, or the state that refused it."""

    started: bool
    state: str = ""
    starts_at: int = 0
    ends_at: int = 0
    expires_at: int = 0


@dataclass(frozen=True, slots=True)
class LockReply:
    """item_lock.lua: a lock and the terms it carries, or why the item cannot be locked."""

    outcome: LockOutcome
    token: str = ""
    kind: str = ""
    off_kind: str = ""
    off_value: int = 0
    min_spend: int = 0
    offer_id: str = ""
    balance: int = 0
    #: ``in_use``: the hold that has it, and whether its lease is over.
    other_hold: str = ""
    lease_over: bool = False


@dataclass(frozen=True, slots=True)
class Fate:
    """hold_benefit_fate.lua: whether the hold's order used a lock, and how much."""

    used: bool
    amount: int = 0
    order_id: str = ""


class CouponScripts:
    """The coupon scripts registered on one Redis client (one that decodes replies)."""

    def __init__(self, redis: Redis) -> None:
        self._scripts = {name: COUPON_LUA.register(redis, name) for name in _NAMES}
        # Claims and grabs of a rush share round trips, like presses of the buy button; a
        # claim resent after a broken connection answers its first coupon (idempotency key).
        repeatable = {self._scripts[name].sha for name in ("drop_claim", "rain_grab")}
        self.batcher = ScriptBatcher(redis, repeatable=repeatable)

    async def preload(self, redis: Redis) -> None:
        """Load every script now, so the first claim of a drop does not wait for it."""
        await preload(redis, self._scripts.values())

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> list[Any]:
        return cast(list[Any], await self._scripts[name](keys=keys, args=args))

    async def close(self) -> None:
        """Wait for the claims in flight."""
        await self.batcher.close()

    async def claim(
        self, k: ActivityKeys, room_id: str, user_id: str, idempotency_key: str
    ) -> ClaimReply:
        """Claim a coupon of the room's drop (the same one again for a retried key)."""
        reply = await self.batcher.call_merged(
            self._scripts["drop_claim"],
            (k.info, k.claims, k.mine, k.idempotency),
            (k.item_prefix,),
            (user_id, idempotency_key, room_id),
        )
        match reply[0]:
            case "claimed":
                return ClaimReply(
                    "claimed", reply[1], 0, reply[2] == 1, int(reply[3]), int(reply[4])
                )
            case "exhausted":
                return ClaimReply("exhausted", count=int(reply[1]), total=int(reply[2]))
            case "already_claimed":
                return ClaimReply("already_claimed", count=int(reply[1]), total=int(reply[2]))
            case "not_live" | "window_over" | "unknown":
                return ClaimReply(reply[0])
        raise ValueError(f"drop_claim.lua answered {reply!r}")

    async def grab(
        self, k: ActivityKeys, room_id: str, user_id: str, idempotency_key: str
    ) -> ClaimReply:
        """Grab a packet of the room's rain (the same one again for a retried key)."""
        reply = await self.batcher.call_merged(
            self._scripts["rain_grab"],
            (k.info, k.claims, k.mine, k.idempotency, k.packets),
            (k.item_prefix,),
            (user_id, idempotency_key, room_id),
        )
        match reply[0]:
            case "grabbed":
                return ClaimReply(
                    "claimed",
                    reply[1],
                    int(reply[2]),
                    reply[3] == 1,
                    int(reply[4]),
                    int(reply[5]),
                )
            case "exhausted":
                return ClaimReply("exhausted", count=int(reply[1]), total=int(reply[2]))
            case "already_grabbed":
                return ClaimReply("already_claimed", item_id=reply[1])
            case "not_live" | "window_over" | "unknown":
                return ClaimReply(reply[0])
        raise ValueError(f"rain_grab.lua answered {reply!r}")

    async def start(self, k: ActivityKeys, packets: list[int]) -> StartReply:
        """Open the claim window now; a rain's packets are laid out in this order."""
        reply = await self._run("activity_start", [k.info, k.packets], list(packets))
        if reply[0] == "started":
            return StartReply(True, "live", int(reply[1]), int(reply[2]), int(reply[3]))
        return StartReply(False, state=reply[1])

    async def end(self, k: ActivityKeys) -> bool:
        """End it now; True only for the call that ended it."""
        reply = await self._run("activity_end", [k.info], [])
        return bool(reply[0] == "ended" and reply[1] == 1)

    async def lock(
        self,
        k: ActivityKeys,
        item_id: str,
        user_id: str,
        hold_id: str,
        token: str,
        lease_ms: int,
        room_id: str,
    ) -> LockReply:
        """Lock a viewer's item for a hold (or renew this hold's own lock)."""
        reply = await self._run(
            "item_lock",
            [k.info, k.item(item_id), k.locks, k.lock_owners],
            [user_id, hold_id, token, lease_ms, room_id, item_id],
        )
        match reply[0]:
            case "locked":
                return LockReply(
                    "locked",
                    token=reply[1],
                    kind=reply[2],
                    off_kind=reply[3],
                    off_value=int(reply[4]),
                    min_spend=int(reply[5]),
                    offer_id=reply[6],
                    balance=int(reply[7]),
                )
            case "in_use":
                return LockReply(
                    "in_use", token=reply[2], other_hold=reply[1], lease_over=reply[3] == 1
                )
            case "spent_here" | "spent" | "expired" | "other_show" | "unknown":
                return LockReply(reply[0])
        raise ValueError(f"item_lock.lua answered {reply!r}")

    async def settle(
        self, k: ActivityKeys, item_id: str, token: str, fate: Fate, hold_id: str
    ) -> str:
        """End a lock as its hold decided: "spent", "released" or "stale" (settled before)."""
        reply = await self._run(
            "item_settle",
            [k.info, k.item(item_id), k.locks, k.lock_owners],
            [token, "used" if fate.used else "unused", fate.amount, hold_id, fate.order_id],
        )
        return cast(str, reply[0])

    async def fate(self, bucket: str, hold_id: str, token: str) -> Fate:
        """Whether the hold's order used ``token``; if not, fence it (in the hold's slot)."""
        reply = await self._run("hold_benefit_fate", [OfferKeys(bucket).hold(hold_id)], [token])
        if reply[0] == "used":
            return Fate(True, int(reply[1]), reply[2])
        return Fate(False)
