"""Password hashing with scrypt, a memory-hard function (16 MiB and ~50 ms per check).

Stored form: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``, so the cost can be raised later
without breaking existing accounts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
KEY_BYTES = 32
MIN_LENGTH = 10
MAX_LENGTH = 200


def hash_password(password: str) -> str:
    """The stored form of a password (scrypt, fresh salt)."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return "$".join(
        [
            "scrypt",
            str(N),
            str(R),
            str(P),
            base64.b64encode(salt).decode(),
            base64.b64encode(key).decode(),
        ]
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches its stored form."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


#: Checked against when the account does not exist, so a login for an unknown name takes
#: as long as one for a known name and does not reveal which names exist.
_DECOY = hash_password(secrets.token_urlsafe(16))


async def check_password(password: str, stored: str | None) -> bool:
    """Verify off the event loop: scrypt would otherwise stall every viewer of the process."""
    return await asyncio.to_thread(verify_password, password, stored or _DECOY) and bool(stored)
