"""The draw algorithm ``livesale-draw-v1``: winners as a function of a seed and the sorted
entries, the same in the server and in ``livesale verify-draw`` (docs/giveaways.md says it
in words so anyone can write it again).

- The seed is 32 random bytes; its commitment, published when the giveaway starts, is
  ``SHA-256(seed)`` in lowercase hex. The seed itself is published with the draw.
- The entries are the entrants' user ids, each once, sorted by their bytes (they are ASCII);
  ``entries_hash`` is ``SHA-256`` of the ids joined by ``"\\n"`` (UTF-8), in hex.
- Round ``r`` (0 is the draw, 1.. are redraws of unclaimed prizes) draws from the pool: the
  sorted entries without the winners of earlier rounds and without the round's ``excluded``
  ids (banned viewers), in sorted order. It draws ``k = min(prizes, len(pool))`` winners by
  a partial Fisher-Yates shuffle: for ``i`` in ``0..k-1``, ``j = i + uniform(len(pool) - i)``
  and pool[i] and pool[j] swap; the winners are pool[0..k-1] in that order.
- ``uniform(n)`` for draw ``i`` of round ``r``: for ``c = 0, 1, ...``, ``x`` is
  HMAC-SHA256(key = seed, message = entries_hash (32 raw bytes) || r || i || c, each of
  r, i, c as 4 bytes big-endian) read as a big-endian 256-bit number; the first ``x`` below
  ``2**256 - 2**256 % n`` gives ``x % n``. Rejecting the top sliver makes every index
  exactly equally likely (no modulo bias).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

ALGORITHM = "livesale-draw-v1"
SEED_BYTES = 32
#: The shape of a user id (server/tokens.py): ASCII, never a newline.
USER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}\Z")
_SPACE = 1 << 256


def commitment(seed: bytes) -> str:
    """The published commitment to ``seed``: SHA-256, lowercase hex."""
    return hashlib.sha256(seed).hexdigest()


def canonical(entries: Iterable[str]) -> list[str]:
    """The entries each once, sorted by their bytes."""
    return sorted(set(entries), key=lambda user_id: user_id.encode())


def entries_hash(sorted_entries: Sequence[str]) -> str:
    """SHA-256 (hex) of the sorted entries joined by newlines."""
    return hashlib.sha256("\n".join(sorted_entries).encode()).hexdigest()


def uniform(seed: bytes, list_hash: str, round_: int, i: int, n: int) -> int:
    """An unbiased number in ``0..n-1`` for draw ``i`` of round ``round_``."""
    if n < 1:
        raise ValueError("uniform needs n >= 1")
    limit = _SPACE - _SPACE % n
    prefix = bytes.fromhex(list_hash) + round_.to_bytes(4, "big") + i.to_bytes(4, "big")
    c = 0
    while True:
        digest = hmac.new(seed, prefix + c.to_bytes(4, "big"), hashlib.sha256).digest()
        x = int.from_bytes(digest, "big")
        if x < limit:
            return x % n
        c += 1


def pool(
    sorted_entries: Sequence[str], earlier_winners: Iterable[str], excluded: Iterable[str]
) -> list[str]:
    """Who round ``r`` draws from: the sorted entries without earlier winners and excluded."""
    out = set(earlier_winners) | set(excluded)
    return [user_id for user_id in sorted_entries if user_id not in out]


def pick(
    seed: bytes, list_hash: str, round_: int, candidates: Sequence[str], prizes: int
) -> list[str]:
    """The winners of round ``round_`` among ``candidates`` (the round's pool, in order)."""
    chosen = list(candidates)
    k = min(prizes, len(chosen))
    for i in range(k):
        j = i + uniform(seed, list_hash, round_, i, len(chosen) - i)
        chosen[i], chosen[j] = chosen[j], chosen[i]
    return chosen[:k]
