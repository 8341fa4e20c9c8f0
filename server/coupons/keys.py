"""Every Redis key of coupon drops and red packet rains.

All keys of one activity (a drop ``d12`` or a rain ``r13``) share the hash tag
``{coupons:ID}``, so every claim, grab, lock and settle is one script in one cluster slot.
The items viewers hold (a coupon ``d12.7``, a packet ``r13.40``) live in their activity's
slot too; the viewer's wallet is read activity by activity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "ls"
#: Sequence of activity ids (drops and rains share it).
SEQUENCE = f"{PREFIX}:coupon-seq"
#: Every activity that may still hold a lock: the lock repairer walks it.
ACTIVITIES = f"{PREFIX}:coupon-activities"

#: ``d<n>`` (a coupon drop) or ``r<n>`` (a red packet rain).
ACTIVITY_ID = re.compile(r"^[dr][1-9][0-9]{0,15}$")
#: ``<activity id>.<n>``: a claimed coupon or a grabbed packet.
ITEM_ID = re.compile(r"^([dr][1-9][0-9]{0,15})\.[1-9][0-9]{0,9}$")


def activity_of(item_id: str) -> str | None:
    """The drop or rain an item id belongs to, or None when it is not an item id."""
    match = ITEM_ID.match(item_id)
    return match.group(1) if match else None


def room_activities(room_id: str) -> str:
    """List of a show's drop and rain ids, oldest first (in the room's slot)."""
    return f"{PREFIX}:{{room:{room_id}}}:coupon-activities"


@dataclass(frozen=True, slots=True)
class ActivityKeys:
    """Every key of one drop or rain, with its hash tag."""

    activity_id: str

    @property
    def prefix(self) -> str:
        """Start of every key of this activity; scripts build item keys from it."""
        return f"{PREFIX}:{{coupons:{self.activity_id}}}:"

    @property
    def info(self) -> str:
        """Hash: terms, state, window and counters (claimed, spent, spent amount)."""
        return self.prefix + "info"

    @property
    def claims(self) -> str:
        """Hash: user id -> coupons claimed (a drop) or 1 (a rain)."""
        return self.prefix + "claims"

    @property
    def mine(self) -> str:
        """Hash: user id -> the user's item ids, space separated."""
        return self.prefix + "mine"

    @property
    def idempotency(self) -> str:
        """Hash: "user id:idempotency key" -> the item that claim made."""
        return self.prefix + "idem"

    @property
    def packets(self) -> str:
        """List: a rain's packets not grabbed yet (amounts, split when the rain starts)."""
        return self.prefix + "packets"

    @property
    def locks(self) -> str:
        """Sorted set: lock token -> end of its lease (epoch ms)."""
        return self.prefix + "locks"

    @property
    def lock_owners(self) -> str:
        """Hash: lock token -> "item id hold id"."""
        return self.prefix + "lock-owners"

    @property
    def item_prefix(self) -> str:
        """Start of every item's key."""
        return self.prefix + "item:"

    def item(self, item_id: str) -> str:
        """An item's hash: owner, status, lock, balance."""
        return self.item_prefix + item_id
