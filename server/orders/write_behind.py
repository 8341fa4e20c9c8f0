"""New holds written into their buyers' indexes behind the presses' answers, gathered.

The reserve script leaves each new hold's record in its offer's records stream; this writer
copies the records into the buyers' indexes (one script call per group of buyers), then
deletes the stream entries. Every pass costs the process a round trip of the shared
pipelines whatever its size, so a pass waits ``gather_s`` for the presses of that moment to
gather: in a storm one pass carries the records of several moments' presses, and the
deletion of the previous pass's entries rides in the same pipeline as the new records.

A buyer who reads their orders does not wait for the gathering: the reader hurries the
writer (``written``). What a crash leaves: records still in the streams, which the sweeper
writes (``StockKeeper.record_left_over``); entries written but not yet deleted, which the
sweeper writes again (a record is idempotent) and deletes.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from stockkeeper.errors import StockKeeperError
from stockkeeper.recorder import BuyerRecord

from .order_scripts import OrderScripts

log = logging.getLogger(__name__)

#: How long the records of new holds gather before a pass writes them: long enough for a
#: storm's presses of several round trips to share a pass, far shorter than a buyer takes to
#: open their orders (and a buyer's read does not wait for it anyway).
GATHER_S = 0.02

#: A stream entry: (the offer's records stream, the entry id).
Entry = tuple[str, str]


class RecordWriter:
    """Writes noted holds into buyers' indexes in gathered passes, then forgets their
    stream entries."""

    def __init__(self, scripts: OrderScripts, gather_s: float = GATHER_S) -> None:
        self.scripts = scripts
        #: Seconds a pass waits for more records (``livesale-bench costs --count
        #: instructions`` stretches it, so that a pass under callgrind carries about as many
        #: presses as natively).
        self.gather_s = gather_s
        self._noted: list[tuple[BuyerRecord, Entry]] = []
        self._writing: asyncio.Task[None] | None = None
        #: The gathering under way, which a reader (or the app's shutdown) may end early;
        #: and whether one asked since the last gathering ended.
        self._hurry: asyncio.Future[None] | None = None
        self._hurried = False
        self._draining = False
        #: New holds noted, and those written (or left to the sweeper), since the start: a
        #: reader waits for what was noted before it, not for a sale that goes on.
        self._noted_count = 0
        self._settled_count = 0
        self._settled = asyncio.Event()

    def note(self, record: BuyerRecord, entry: Entry) -> None:
        """Write this new hold into its buyer's index soon, then delete ``entry``."""
        self._noted.append((record, entry))
        self._noted_count += 1
        if self._writing is None:
            self._writing = asyncio.get_running_loop().create_task(self._write())

    async def written(self) -> None:
        """Wait until the holds noted so far are in their buyers' indexes (or left to the
        sweeper), so that a buyer reads their own presses."""
        noted = self._noted_count
        while self._settled_count < noted and self._writing is not None:
            self._hurry_up()
            await self._settled.wait()

    async def drain(self) -> None:
        """Write what is noted now, and delete what is written (the app is stopping)."""
        self._draining = True
        try:
            while (writing := self._writing) is not None:
                self._hurry_up()
                # Shielded: a caller given up on must not cut the writer off mid-pass.
                await asyncio.shield(writing)
        finally:
            self._draining = False

    def _hurry_up(self) -> None:
        """Make the pass under way the last to wait: the current or next gathering ends."""
        self._hurried = True
        if self._hurry is not None and not self._hurry.done():
            self._hurry.set_result(None)

    async def _gather(self) -> None:
        """Wait ``gather_s``, or less when hurried."""
        if self._hurried or self._draining:
            self._hurried = False
            return
        loop = asyncio.get_running_loop()
        self._hurry = hurry = loop.create_future()
        timer = loop.call_later(self.gather_s, _resolve, hurry)
        try:
            await hurry
        finally:
            timer.cancel()
            self._hurry = None
            self._hurried = False

    async def _write(self) -> None:
        written: list[Entry] = []  # entries whose records are in the indexes: to delete
        batch: list[tuple[BuyerRecord, Entry]] = []
        try:
            while self._noted or written:
                await self._gather()
                batch, self._noted = self._noted, []
                written = await self._pass(batch, written)
                self._settled_count += len(batch)
                batch = []
                self._settled.set()  # wakes the readers waiting now
                self._settled.clear()
        finally:
            self._writing = None
            # Cancelled mid-pass (the app is stopping): the batch's records are safe in
            # the streams for the sweeper; the readers waiting must not wait for it.
            self._settled_count += len(batch)
            self._settled.set()
            self._settled.clear()

    async def _pass(
        self, batch: list[tuple[BuyerRecord, Entry]], to_forget: list[Entry]
    ) -> list[Entry]:
        """Write ``batch``'s records and delete the entries of the previous pass, in the same
        pipeline; the entries the next pass deletes."""
        recorded, forgotten = await asyncio.gather(
            self.scripts.record_all([record for record, _ in batch]),
            self.scripts.forget(to_forget),
            return_exceptions=True,
        )
        if isinstance(forgotten, BaseException):
            # The sweeper deletes them (after writing their records again, which changes
            # nothing): retrying here would spin while Redis is away.
            _warn(
                forgotten,
                f"Could not delete {len(to_forget)} written records",
                "; the sweeper will",
            )
        if isinstance(recorded, BaseException):
            # Their entries stay in the offers' records streams: the sweeper records them
            # a few seconds from now.
            _warn(
                recorded,
                f"Could not write {len(batch)} new holds into buyers' orders yet",
                "; the sweeper will",
            )
            return []
        return [entry for _, entry in batch]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _warn(error: BaseException, what: str, then: str) -> None:
    if isinstance(error, StockKeeperError | RedisError | OSError):
        log.warning("%s (%s)%s", what, error, then)
    else:
        # A bug must not stop the writer (the records are safe in the streams).
        log.error("%s%s", what, then, exc_info=error)
