"""Slows down password guessing: a few failed logins per account, more per address.

Every attempt is counted *before* its password is checked, with Redis's atomic INCR, so
that a burst of simultaneous guesses cannot all pass a check made before any of them was
counted: the attempt that takes a counter past its limit is refused, whatever its password.
A successful login clears the account's counter and gives its attempt back to the address,
so an address is only ever charged for its failures.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from . import keys


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failed logins an account and an address get per window."""

    per_account: int = 5
    per_address: int = 30
    window_s: int = 15 * 60


class LoginGuard:
    """Counts failed logins per account and per address, atomically, in Redis."""

    def __init__(self, redis: Redis, limits: LoginLimits) -> None:
        self.redis = redis
        self.limits = limits

    def _keys(self, host_id: str, address: str) -> tuple[str, str]:
        return (
            keys.login_failures("account", host_id.lower()[:64]),
            keys.login_failures("address", address),
        )

    async def attempt(self, host_id: str, address: str) -> int:
        """Count a login attempt; the seconds to wait when it is over a limit (0 = go on)."""
        account, addr = self._keys(host_id, address)
        pipe = self.redis.pipeline(transaction=False)
        for key in (account, addr):
            pipe.incr(key)
            # The window starts at the first attempt and is not extended by later ones. NX
            # also gives a window to a counter that lost its expiry (a client cut off
            # between the two commands), so no counter outlives it.
            pipe.expire(key, self.limits.window_s, nx=True)
            pipe.ttl(key)
        account_count, _, account_ttl, address_count, _, address_ttl = await pipe.execute()
        wait = 0
        if int(account_count) > self.limits.per_account:
            wait = max(wait, int(account_ttl), 1)
        if int(address_count) > self.limits.per_address:
            wait = max(wait, int(address_ttl), 1)
        return wait

    async def succeeded(self, host_id: str, address: str) -> None:
        """Forget the account's failed logins, and give the address back this attempt."""
        account, addr = self._keys(host_id, address)
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(account)
        pipe.decr(addr)
        _, left = await pipe.execute()
        if int(left) < 0:
            # The window ended during the login: DECR made a fresh counter, with no expiry.
            await self.redis.delete(addr)
