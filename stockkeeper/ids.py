"""The shapes of offer and hold ids, checked before any request reaches Redis."""

from __future__ import annotations

import re

OFFER_ID = re.compile(r"^[1-9][0-9]{0,17}$")
#: "<offer>-<hex>" or, in bucket i > 0 of a hot offer, "<offer>.<i>-<hex>"; a group
#: member's hold is "<offer>-g<hex>" (groups.py: paid through group_confirm.lua).
HOLD_ID = re.compile(r"^(([1-9][0-9]{0,17})(?:\.[1-9][0-9]?)?)-g?[0-9a-f]{16}$")
#: A buying group: "<offer>-<hex>", so the group names the offer whose slot keeps it.
GROUP_ID = re.compile(r"^([1-9][0-9]{0,17})-[0-9a-f]{12}$")


def is_group_hold(hold_id: str) -> bool:
    """True for a group member's hold id (its payment goes through group_confirm.lua)."""
    return "-g" in hold_id


def offer_of_group(group_id: str) -> str | None:
    """The offer a group id belongs to, or None when it is not a group id."""
    match = GROUP_ID.match(group_id)
    return match.group(1) if match else None


def offer_of_hold(hold_id: str) -> tuple[str, str] | None:
    """The offer and the bucket a hold id belongs to, or None when it is not a hold id."""
    match = HOLD_ID.match(hold_id)
    return (match.group(2), match.group(1)) if match else None
