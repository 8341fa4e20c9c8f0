"""The one loader of Lua in the repository: reads a script shipped in a Python package and
registers it with a Redis client.

redis-py's ``register_script`` sends EVALSHA and, when Redis answers NOSCRIPT (a restart, a
flush, a failover), loads the script again and retries; ``preload`` loads scripts at start
so the first callers do not pay for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


@dataclass(frozen=True, slots=True)
class LuaFolder:
    """A folder of ``.lua`` files inside a Python package, and an optional prelude: a file
    of shared helpers prepended to every script, so each stays one self-contained EVALSHA."""

    package: str
    folder: str = ""
    prelude: str | None = None

    def read(self, name: str) -> str:
        """The text of ``name.lua``, without the prelude."""
        path = resources.files(self.package)
        if self.folder:
            path = path.joinpath(self.folder)
        return path.joinpath(f"{name}.lua").read_text("utf-8")

    def source(self, name: str) -> str:
        """What Redis runs for ``name``: the prelude, then the script."""
        if self.prelude is None:
            return self.read(name)
        return self.read(self.prelude) + "\n" + self.read(name)

    def register(self, redis: Redis, name: str) -> AsyncScript:
        """``name.lua`` registered with ``redis``; calling it sends EVALSHA."""
        return redis.register_script(self.source(name))


async def preload(redis: Redis, scripts: Iterable[AsyncScript]) -> None:
    """SCRIPT LOAD every script now (on every master of a cluster)."""
    for script in scripts:
        # The sha redis-py computed at registration is the one Redis answers.
        await redis.script_load(script.script)
