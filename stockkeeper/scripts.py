"""The Lua scripts, one file per atomic operation, registered with a Redis client.

``lib.lua`` holds helpers shared by several operations; it is prepended to each script so
every script stays one self-contained EVALSHA.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def _source(name: str) -> str:
    return (
        resources.files(__package__).joinpath("scripts").joinpath(f"{name}.lua").read_text("utf-8")
    )


@dataclass(frozen=True, slots=True)
class Scripts:
    offer_create: AsyncScript
    offer_open: AsyncScript
    offer_transition: AsyncScript
    offer_adjust_stock: AsyncScript
    hold_reserve: AsyncScript
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
        lib = _source("lib")
        return cls(
            **{f.name: redis.register_script(lib + "\n" + _source(f.name)) for f in fields(cls)}
        )

    async def load(self, redis: Redis) -> None:
        """Load every script now, so the first buyers do not pay for it."""
        for f in fields(self):
            script: AsyncScript = getattr(self, f.name)
            script.sha = await redis.script_load(script.script)
