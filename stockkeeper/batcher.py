"""Pipelines script calls that arrive together into one Redis round trip.

When ten thousand buyers press at once, most of the cost of a reservation is the round trip
to Redis, not the script. Calls made while a round trip is in flight wait for it to finish
and then go together in the next pipeline, so the number of round trips follows Redis's
speed rather than the number of buyers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError, ResponseError

from .errors import StockKeeperError, StockUnavailable

_Call = tuple[AsyncScript, Sequence[str], Sequence[str | int], "asyncio.Future[Any]"]


class ScriptBatcher:
    def __init__(self, redis: Redis, *, max_in_flight: int = 2, max_batch: int = 1024) -> None:
        self._redis = redis
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._pending: list[_Call] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(
        self, script: AsyncScript, keys: Sequence[str], args: Sequence[str | int]
    ) -> Any:
        """Run ``script`` in the next pipeline and return its reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((script, keys, args, future))
        if not self._scheduled and self._in_flight < self._max_in_flight:
            # Wait one loop tick so that requests read in the same tick share the pipeline.
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    async def close(self) -> None:
        """Wait for the round trips in flight."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending or self._in_flight >= self._max_in_flight:
            return
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        if self._pending and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _run(self, batch: list[_Call]) -> None:
        # redis-py's own pipelines with registered scripts ask SCRIPT EXISTS on every
        # execute, a second round trip; EVALSHA directly and reload only on NOSCRIPT.
        pipe = self._redis.pipeline(transaction=False)
        for script, keys, args, _ in batch:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            error = StockUnavailable(f"Redis did not answer: {exc}")
            for *_, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (script, keys, args, future), reply in zip(batch, replies, strict=True):
            if isinstance(reply, NoScriptError):
                # Redis restarted or was flushed: the script never ran, so running it again
                # is safe. AsyncScript reloads it.
                try:
                    reply = await script(keys=keys, args=args)
                except (RedisError, OSError) as exc:
                    reply = StockUnavailable(f"Redis did not answer: {exc}")
            if future.done():
                continue
            if isinstance(reply, ResponseError):
                # A script error is a bug, not an outage: retrying would not help.
                future.set_exception(StockKeeperError(f"A stock script failed: {reply}"))
            elif isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)
