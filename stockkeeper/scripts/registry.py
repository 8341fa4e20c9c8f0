"""Every stock script registered on one Redis client, and the batcher that runs them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from ..batcher import Arg, ScriptBatcher
from .loader import LuaFolder, preload

#: The stock keeper's scripts, with lib.lua's helpers in front of each.
STOCK_LUA = LuaFolder("stockkeeper.scripts", prelude="lib")

#: Scripts the batcher sends again when the connection carrying them broke (Redis
#: restarted, say): the first attempt may or may not have run, and a second run of these
#: changes nothing more and answers alike, as a replay.
REPEATABLE = frozenset(
    {
        "hold_reserve",  # by the press's idempotency key: a second run replays the hold
        "hold_replay",  # reads only
        "hold_confirm",  # by hold id and payment reference: the same order, refunds once
        "hold_cancel",  # a cancelled hold stays cancelled; its units go back once
        "bucket_take",  # once per transfer id
        "bucket_settle",  # settling twice changes nothing
    }
)
# Not repeatable: holds_expire (a second run would not list the holds the first expired,
# so their buyers would never be told; the sweeper's next pass comes soon anyway),
# bucket_sync (resent after a newer sync, it would put back an older state, e.g. open
# after a pause), offer_create (a second run finds the offer made and refuses),
# offer_open and offer_transition (a second run refuses the new state), offer_adjust_stock
# (would add or pull twice), bucket_give (would give twice under one transfer id).


@dataclass(frozen=True, slots=True)
class Scripts:
    """One registered script per atomic operation; callers use the typed wrappers in
    offers.py, holds.py and buckets.py rather than these."""

    batcher: ScriptBatcher
    offer_create: AsyncScript
    offer_open: AsyncScript
    offer_transition: AsyncScript
    offer_adjust_stock: AsyncScript
    hold_reserve: AsyncScript
    hold_replay: AsyncScript
    hold_confirm: AsyncScript
    hold_cancel: AsyncScript
    holds_expire: AsyncScript
    bucket_give: AsyncScript
    bucket_take: AsyncScript
    bucket_settle: AsyncScript
    bucket_sync: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        """Register every script; redis-py sends EVALSHA and reloads on NOSCRIPT."""
        names = [f.name for f in fields(cls) if f.name != "batcher"]
        scripts = {name: STOCK_LUA.register(redis, name) for name in names}
        repeatable = {scripts[name].sha for name in REPEATABLE}
        return cls(batcher=ScriptBatcher(redis, repeatable=repeatable), **scripts)

    def all(self) -> list[AsyncScript]:
        """Every registered script."""
        return [getattr(self, f.name) for f in fields(self) if f.name != "batcher"]

    async def load(self, redis: Redis) -> None:
        """Load every script now, so the first buyers do not pay for it."""
        await preload(redis, self.all())

    async def run(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run one script call in the batcher's next pipeline; its raw reply."""
        return await self.batcher.call(script, keys, args)

    async def close(self) -> None:
        """Wait for the script calls in flight."""
        await self.batcher.close()
