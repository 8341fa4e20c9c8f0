"""Sends script calls that arrive together to Redis in one round trip.

When ten thousand buyers press at once, most of the cost of a reservation is not the script
but the round trip to Redis and the client's work per command. Calls made while a round trip
is in flight wait for it, then go together in the next pipeline. Calls to a batch script
with the same keys (all presses on one offer) are merged into a single EVALSHA whose reply
holds one answer per call; their arguments travel as one msgpack array, which costs the
client a fraction of encoding each one as a Redis argument of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError, NoScriptError, RedisError, ResponseError

from .errors import StockKeeperError, StockUnavailable

#: A script argument (bytes: a msgpack array packed by the caller).
Arg = str | int | bytes


@dataclass(slots=True)
class _Call:
    """One EVALSHA: a single call, or several calls merged (``items`` then holds each
    call's arguments)."""

    script: AsyncScript
    keys: Sequence[str]
    args: list[Arg]
    futures: list[asyncio.Future[Any]] = field(default_factory=list)
    items: list[Sequence[Arg]] = field(default_factory=list)

    @property
    def merged(self) -> bool:
        return bool(self.items)

    def all_args(self) -> list[Arg | bytes]:
        if not self.merged:
            return list(self.args)
        return [*self.args, msgpack.packb(self.items)]


class ScriptBatcher:
    """Runs script calls in shared pipelines. ``repeatable`` names (by sha) the scripts that
    may be sent again when the connection carrying them breaks: the first attempt may or
    may not have run, so only a script whose second run changes nothing more (by an
    idempotency key, a hold id, a transfer id) and answers alike is safe to resend."""

    def __init__(
        self,
        redis: Redis,
        *,
        repeatable: Collection[str] = (),
        max_in_flight: int = 2,
        max_merged: int = 500,
    ) -> None:
        self._redis = redis
        self._repeatable = frozenset(repeatable)
        self._max_in_flight = max_in_flight
        self._max_merged = max_merged
        self._pending: list[_Call] = []
        self._open_merges: dict[tuple[str, tuple[str, ...]], _Call] = {}
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        #: Pipelines sent since the start, and the script calls they carried (what
        #: ``livesale-bench costs`` divides by the presses answered); a resend after a broken
        #: connection and a script reloaded after NOSCRIPT are not counted.
        self.round_trips = 0
        self.calls_sent = 0

    async def call(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run ``script`` in the next pipeline and return its reply."""
        return await self.submit(script, keys, args)

    def submit(
        self, script: AsyncScript, keys: Sequence[str], args: Sequence[Arg]
    ) -> asyncio.Future[Any]:
        """Queue ``script`` for the next pipeline: the future of its reply. Many calls made at
        once are awaited together (``asyncio.gather`` of futures), without a task each."""
        future = self._future()
        self._pending.append(_Call(script, keys, list(args), [future]))
        self._schedule()
        return future

    def may_resend(self, script: AsyncScript) -> None:
        """Mark one more script repeatable (see the class): one whose second run changes
        nothing more and answers alike."""
        self._repeatable = self._repeatable | {script.sha}

    async def call_merged(
        self,
        script: AsyncScript,
        keys: Sequence[str],
        shared_args: Sequence[Arg],
        args: Sequence[Arg],
    ) -> Any:
        """Run one item of a batch script: calls with the same script and keys share one
        EVALSHA taking ``shared_args`` then a msgpack array of every call's ``args``, and
        answering a list with one reply per call, in order."""
        future = self._future()
        group = (script.sha, tuple(keys))
        call = self._open_merges.get(group)
        if call is None or len(call.futures) >= self._max_merged:
            call = _Call(script, keys, list(shared_args))
            self._open_merges[group] = call
            self._pending.append(call)
        call.items.append(args)
        call.futures.append(future)
        self._schedule()
        return await future

    async def close(self) -> None:
        """Wait for the round trips in flight."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    def _schedule(self) -> None:
        if not self._scheduled and self._in_flight < self._max_in_flight:
            # Wait one loop tick so that requests read in the same tick share the pipeline.
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending or self._in_flight >= self._max_in_flight:
            return
        batch, self._pending = self._pending, []
        self._open_merges.clear()
        self._in_flight += 1
        self.round_trips += 1
        self.calls_sent += len(batch)
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        if self._pending:
            self._schedule()

    async def _send(self, batch: list[_Call]) -> list[Any]:
        """Every call's reply, or the error in its place."""
        if isinstance(self._redis, RedisCluster):
            # A cluster pipeline refuses EVALSHA (it cannot route scripts); each call goes
            # to its own shard, all at once. Merging still makes one EVALSHA per offer.
            return await asyncio.gather(
                *(
                    self._redis.evalsha(
                        call.script.sha, len(call.keys), *call.keys, *call.all_args()
                    )
                    for call in batch
                ),
                return_exceptions=True,
            )
        # redis-py's own pipelines with registered scripts ask SCRIPT EXISTS on every
        # execute, a second round trip; EVALSHA directly and reload only on NOSCRIPT.
        pipe = self._redis.pipeline(transaction=False)
        for call in batch:
            pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.all_args())
        return await pipe.execute(raise_on_error=False)

    async def _send_or_fail(self, batch: list[_Call]) -> list[Any]:
        """Every call's reply, or the error in its place (one error for all when the
        pipeline's connection broke)."""
        try:
            return await self._send(batch)
        except (RedisError, OSError) as exc:
            return [exc] * len(batch)

    async def _resend_broken(self, batch: list[_Call], replies: list[Any]) -> None:
        """Send the repeatable calls whose connection broke once more, on a new connection.

        A broken connection is one Redis closed or the network dropped (Redis restarted, a
        cluster node failed over) before the client noticed; a fresh one usually works at
        once. A timeout is not resent: Redis is slow or away, and waiting twice as long
        helps no buyer.
        """
        again = [
            i
            for i, (call, reply) in enumerate(zip(batch, replies, strict=True))
            if _broken(reply) and call.script.sha in self._repeatable
        ]
        if not again:
            return
        if not isinstance(self._redis, RedisCluster):
            # The pool's idle connections may be as dead as the one that broke; a cluster
            # client drops a failed node's connections itself.
            await self._redis.connection_pool.disconnect(inuse_connections=False)
        resent = await self._send_or_fail([batch[i] for i in again])
        for i, reply in zip(again, resent, strict=True):
            replies[i] = reply

    async def _run(self, batch: list[_Call]) -> None:
        replies = await self._send_or_fail(batch)
        await self._resend_broken(batch, replies)
        for call, reply in zip(batch, replies, strict=True):
            if isinstance(reply, NoScriptError):
                # Redis restarted or was flushed: the script never ran, so running it again
                # is safe. AsyncScript reloads it.
                try:
                    reply = await call.script(keys=call.keys, args=call.all_args())
                except (RedisError, OSError) as exc:
                    reply = exc
            if isinstance(reply, ResponseError):
                # A script error is a bug, not an outage: retrying would not help.
                _fail(call, StockKeeperError(f"A stock script failed: {reply}"))
            elif isinstance(reply, RedisError | OSError):
                _fail(call, StockUnavailable(f"Redis did not answer: {reply}"))
            elif call.merged:
                for future, one in zip(call.futures, reply, strict=True):
                    if not future.done():
                        future.set_result(one)
            elif not call.futures[0].done():
                call.futures[0].set_result(reply)


def _broken(reply: Any) -> bool:
    """Whether a reply is the error of a connection that broke (not of a timeout)."""
    # Python's own TimeoutError is an OSError; redis-py's is neither.
    return isinstance(reply, ConnectionError | OSError) and not isinstance(reply, TimeoutError)


def _fail(call: _Call, error: Exception) -> None:
    for future in call.futures:
        if not future.done():
            future.set_exception(error)
