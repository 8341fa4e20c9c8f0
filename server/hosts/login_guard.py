"""Slows down password guessing: a few failed logins per account, more per address."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from . import keys


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_account: int = 5
    per_address: int = 30
    window_s: int = 15 * 60


class LoginGuard:
    def __init__(self, redis: Redis, limits: LoginLimits) -> None:
        self.redis = redis
        self.limits = limits

    def _keys(self, host_id: str, address: str) -> tuple[str, str]:
        return (
            keys.login_failures("account", host_id.lower()[:64]),
            keys.login_failures("address", address),
        )

    async def retry_after(self, host_id: str, address: str) -> int:
        """Seconds until this account may be tried again from this address (0 = now)."""
        account, addr = self._keys(host_id, address)
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(account)
        pipe.ttl(account)
        pipe.get(addr)
        pipe.ttl(addr)
        failures, account_ttl, address_failures, address_ttl = await pipe.execute()
        wait = 0
        if int(failures or 0) >= self.limits.per_account:
            wait = max(wait, int(account_ttl))
        if int(address_failures or 0) >= self.limits.per_address:
            wait = max(wait, int(address_ttl))
        return max(wait, 0)

    async def failed(self, host_id: str, address: str) -> None:
        """Count a failed login against the account and the address."""
        pipe = self.redis.pipeline(transaction=False)
        for key in self._keys(host_id, address):
            pipe.incr(key)
            # The window starts at the first failure and is not extended by later ones.
            pipe.expire(key, self.limits.window_s, nx=True)
        await pipe.execute()

    async def succeeded(self, host_id: str, address: str) -> None:
        """Forget the account's failed logins."""
        await self.redis.delete(self._keys(host_id, address)[0])
