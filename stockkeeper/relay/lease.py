"""One relay at a time under a name: a lease in Redis, kept while the relay runs.

Two relays started under one name (two machines left at the default ``relay-1``, say) would
fence each other's Kafka producer over and over: each start of the transactional producer
aborts the other's transaction, so both keep starting again and orders crawl out. Fencing
keeps that safe, never fast. With the lease, the second relay stands by instead, and takes
over when the first stops (at once on a clean stop, which gives the lease back) or is not
heard from (when its lease lapses: it is kept beside the relay's loop, so a slow batch
keeps it too). A relay whose lease lapsed finds the name taken and stands by; if it was
mid-batch, the relay that took over fenced it, so that batch cannot commit
(transactions.py), and re-reads the entries left pending under the name. A relay of
another name still takes over a name whose entries sit untouched for
``relay_claim_idle_ms``, lease or not: progress does not depend on a live lease.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

from redis.asyncio import Redis

from .. import keys
from ..scripts.loader import LuaFolder

_RELAY_LUA = LuaFolder("stockkeeper.relay.scripts")
#: Kept every third of its length: shorter would be kept more often than Redis answers.
MIN_LEASE_MS = 1000


@dataclass(frozen=True, slots=True)
class LeaseAnswer:
    """Whether this relay holds the name, and otherwise who does and for how long yet."""

    held: bool
    holder: str
    #: Milliseconds until the holder's lease lapses unless kept (0 when this relay holds it).
    lapses_in_ms: int = 0


class NameLease:
    """The lease of one relay name, as one relay process asks for it."""

    def __init__(self, redis: Redis, name: str, lease_ms: int) -> None:
        if lease_ms < MIN_LEASE_MS:
            raise ValueError(
                f"A relay's lease must last at least {MIN_LEASE_MS} ms "
                f"(LIVESALE_RELAY_LEASE_MS is {lease_ms})"
            )
        self.name = name
        self.lease_ms = lease_ms
        #: Who holds it, as another relay's log line names it.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._key = keys.relay_lease(name)
        self._hold = _RELAY_LUA.register(redis, "lease_hold")
        self._release = _RELAY_LUA.register(redis, "lease_release")

    async def hold(self) -> LeaseAnswer:
        """Take the lease, or keep it for another ``lease_ms``, unless another relay holds it."""
        reply = await self._hold(keys=[self._key], args=[self.token, self.lease_ms])
        if int(reply[0]) == 1:
            return LeaseAnswer(True, self.token)
        return LeaseAnswer(False, str(reply[1]), max(0, int(reply[2])))

    async def release(self) -> bool:
        """Give the lease back (a clean stop); True when this relay held it."""
        return bool(await self._release(keys=[self._key], args=[self.token]))
