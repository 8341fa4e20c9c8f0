"""The outbox relay's loop: batches from the Redis outbox into Kafka transactions.

One batch at a time: read entries, send them and the batch's state record in one Kafka
transaction, commit, then acknowledge (and delete) the entries in Redis. When anything fails
the relay drops its producer and starts over under the same transactional id, which fences
the old producer and aborts what it left open; then it acknowledges its last committed
batch (read back from the state topic) and sends its other pending entries again.

Taking over a dead relay: its pending entries stay under its name. Another relay opens a
producer with the dead one's transactional id (fencing it), recovers exactly as the dead
relay would on restart, publishes its pending entries under its id and name, and closes.
Because entries never change hands, "which entries may be committed but not acknowledged"
always has one answer: the last state record of the name they are pending under. (Claiming
them into the live relay's own name would break that: the dead relay, restarted, could
commit a batch it had read before the claim, while the live relay sent the same entries
under its own id, which no fence covers.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiokafka.errors import KafkaError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..cancellation import stop_if_cancelled
from ..settings import StockSettings
from .lease import NameLease
from .outbox import Entry, Outbox, outbox_depth
from .transactions import RelayTransactions

log = logging.getLogger(__name__)


class OutboxRelay:
    """One relay, by its stable name: drains the outboxes, and takes over dead relays."""

    def __init__(self, redis: Redis, settings: StockSettings, name: str) -> None:
        self.redis = redis
        self.settings = settings
        self.name = name
        self.published = 0
        #: Told how many messages Kafka acknowledged together, and how long that took.
        self.on_sent: Callable[[int, float], None] = lambda count, seconds: None
        self.outbox = Outbox(redis, settings.relay_batch)
        self._transactions: RelayTransactions | None = None
        # After a start or a failure, this relay's own pending entries go first.
        self._own_pending = True
        self._last_takeover = 0.0
        #: One relay at a time under this name (lease.py); the other stands by.
        self.lease = NameLease(redis, name, settings.relay_lease_ms)
        self.standing_by = False
        #: Holds the lease now, as far as this relay knows (``_keep_name`` keeps it).
        self._holds_name = False

    async def run(self) -> None:
        """Relay until cancelled, riding out Kafka and Redis outages."""
        backoff = 0.2
        idle_wait = self.settings.relay_idle_poll_s
        # Kept beside the loop, not between its batches: one batch can outlast the lease
        # (Kafka slow, a takeover), and a lapsed lease lets a relay standing by fence this one.
        keeping = asyncio.create_task(self._keep_name(), name=f"lease of relay {self.name}")
        try:
            while True:
                stop_if_cancelled()
                try:
                    sent = await self.relay_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Whatever went wrong, the orders are still in the outbox: log, wait,
                    # and start over with a fresh producer. This loop must never die. Even
                    # after a Redis error: a batch committed but not acknowledged is known
                    # only from the state record that opening a producer reads again.
                    if not isinstance(exc, TimeoutError | KafkaError | RedisError | OSError):
                        log.exception("Outbox relay hit an unexpected error")
                    waiting = await self._outbox_depth_or_none()
                    log.warning(
                        "%s (%s: %s); %s wait in the outbox. Retrying in %.1f s.",
                        "The outbox cannot be read: Redis is out of reach"
                        if isinstance(exc, RedisError)
                        else "Orders cannot reach Kafka yet",
                        type(exc).__name__,
                        str(exc) or "timed out",
                        "an unknown number" if waiting is None else waiting,
                        backoff,
                    )
                    await self._close()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.2
                if sent:
                    idle_wait = self.settings.relay_idle_poll_s
                else:
                    await asyncio.sleep(idle_wait)
                    idle_wait = min(idle_wait * 2, self.settings.relay_idle_poll_max_s)
        finally:
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)
            with contextlib.suppress(RedisError, OSError):
                # First (a quick call): a relay standing by under this name takes over at
                # once, even if closing the producer below is cut short.
                await self.lease.release()
            await self._close()

    async def relay_once(self) -> int:
        """Publish one batch of outbox entries; returns how many were sent (0 while another
        relay holds this relay's name)."""
        if not await self._hold_name():
            return 0
        streams = await self.outbox.streams()
        if not streams:
            return 0
        transactions = await self._open(streams)
        taken = await self._take_over_abandoned(streams)
        if taken:
            return taken
        batch: list[Entry] = []
        if self._own_pending:
            batch = await self.outbox.read(streams, self.name, pending=True)
            self._own_pending = bool(batch)
        if not batch:
            batch = await self.outbox.read(streams, self.name, pending=False)
        if not batch:
            return 0
        await self._publish(transactions, batch)
        return len(batch)

    async def outbox_depth(self) -> int:
        """Entries written but not yet acknowledged by Kafka, over all offers."""
        return await outbox_depth(self.redis)

    async def _publish(self, transactions: RelayTransactions, batch: list[Entry]) -> None:
        started = time.monotonic()
        sent = await transactions.send(batch)
        await transactions.commit()
        self.on_sent(sent, time.monotonic() - started)
        # Acknowledged only after the commit, and before the next batch is read: so at most
        # the last committed batch of a name is ever committed and still pending.
        await self._acknowledge(batch)
        self.published += len(batch)

    async def _acknowledge(self, batch: list[Entry]) -> None:
        await self.outbox.acknowledge(batch)

    async def _open(self, streams: list[str]) -> RelayTransactions:
        if self._transactions is None:
            transactions = RelayTransactions(self.settings, self.name)
            self._transactions = transactions
            await transactions.open()
            # The state record only tells which pending entries were committed: with none
            # pending there is nothing to learn, and no reason to wait for the state topic,
            # where a dead relay's open transaction can hold readers back for a minute.
            # Looked at only after the fence: an earlier life of this name can no longer
            # commit a batch that would become pending after the look.
            if await self.outbox.has_pending(streams, self.name):
                await self.outbox.acknowledge(await transactions.last_committed())
            self._own_pending = True
            log.info("Outbox relay %s connected to Kafka", self.name)
        return self._transactions

    async def _hold_name(self) -> bool:
        """Whether this relay may relay under its name now: it holds the name's lease
        (``_keep_name`` keeps it), or it takes it now; False while another relay holds it."""
        if self._holds_name:
            return True
        answer = await self.lease.hold()
        if answer.held:
            if self.standing_by:
                log.warning("Outbox relay %s took over its name: relaying now", self.name)
                self.standing_by = False
            # Its producer is opened next: that fences a former holder's, and makes this relay
            # read the entries pending under the name first (_open).
            self._holds_name = True
            return True
        if not self.standing_by:
            log.warning(
                "Another outbox relay is running under the name %s (%s); this one stands by "
                "and takes over if that one stops. To run both, give each a name of its own "
                "(LIVESALE_RELAY_NAME).",
                self.name,
                answer.holder,
            )
            self.standing_by = True
        # A producer of this name from when this relay held it: the holder fenced it.
        await self._close()
        return False

    async def _keep_name(self) -> None:
        """Keep the lease every third of its length while this relay holds it; when another
        relay took it meanwhile (this one was not heard from in time), stand by."""
        while True:
            await asyncio.sleep(self.lease.lease_ms / 3000)
            if not self._holds_name:
                continue
            try:
                answer = await self.lease.hold()
            except (RedisError, OSError):
                continue  # the relay's own loop meets the outage and waits it out
            if answer.held:
                # Now and then, not only after a failure: entries left pending under this
                # name (read by a former holder that was fenced) go out within a period.
                self._own_pending = True
            else:
                log.warning(
                    "Outbox relay %s lost its name to %s (its lease lapsed): standing by",
                    self.name,
                    answer.holder,
                )
                self._holds_name = False

    async def _close(self) -> None:
        transactions, self._transactions = self._transactions, None
        if transactions is not None:
            await transactions.close()

    async def _take_over_abandoned(self, streams: list[str]) -> int:
        """Publish the pending entries of relays presumed dead; returns how many."""
        now = time.monotonic()
        if now - self._last_takeover < self.settings.relay_claim_idle_ms / 3000:
            return 0
        self._last_takeover = now
        readers = await self.outbox.abandoned_readers(
            streams, self.settings.relay_claim_idle_ms, self.name
        )
        taken = 0
        for reader in readers:
            taken += await self._take_over(reader, streams)
        return taken

    async def _take_over(self, reader: str, streams: list[str]) -> int:
        transactions = RelayTransactions(self.settings, reader)
        taken = 0
        try:
            # Fences the dead relay: from here on it cannot commit, and its open
            # transaction is aborted. What it did commit is acknowledged now.
            await transactions.open()
            await self.outbox.acknowledge(await transactions.last_committed())
            while batch := await self.outbox.read(streams, reader, pending=True):
                await self._publish(transactions, batch)
                taken += len(batch)
        except (TimeoutError, KafkaError, RedisError, OSError) as exc:
            # Kafka or Redis failing, or the relay is alive after all and fenced us in turn:
            # what is left stays pending under its name, for it or for a later attempt.
            log.warning("Could not take over the outbox entries of relay %s: %s", reader, exc)
        finally:
            await transactions.close()
        if taken:
            log.warning("Took over %d outbox entries left by stopped relay %s", taken, reader)
        return taken

    async def _outbox_depth_or_none(self) -> int | None:
        try:
            return await self.outbox_depth()
        except (RedisError, OSError):
            return None
