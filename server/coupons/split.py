"""The red packet split: "double mean", computed once when a rain starts.

Each packet, taken in turn, is a random whole amount between 1 minor unit and twice the
mean of what is left (``2 * left // packets_left``), and never so much that a later packet
would get less than 1; the last packet is what is left. So every packet is at least 1, the
packets sum to the pool exactly, and each grab's expected amount is the mean of what is
left, wherever in the rain it comes. docs/coupons.md describes it for viewers and auditors.
"""

from __future__ import annotations

import random
import secrets

#: Randomness from the system's generator: packet sizes are money, not a simulation.
_RANDOM = random.SystemRandom()


def double_mean(pool: int, packets: int, rng: random.Random | None = None) -> list[int]:
    """Split ``pool`` minor units into ``packets`` amounts, each >= 1, summing to ``pool``."""
    if packets < 1 or pool < packets:
        raise ValueError(f"Cannot split {pool} into {packets} packets of at least 1")
    rng = rng or _RANDOM
    amounts: list[int] = []
    left = pool
    for remaining in range(packets, 1, -1):
        most = min(2 * left // remaining, left - (remaining - 1))
        amount = rng.randint(1, max(1, most))
        amounts.append(amount)
        left -= amount
    amounts.append(left)
    return amounts


def seed_token() -> str:
    """A random token (lock tokens)."""
    return secrets.token_hex(8)
