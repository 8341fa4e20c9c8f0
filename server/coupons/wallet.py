"""A viewer's wallet in a show: the coupons they claimed and their red packet credit, and
the coupons section of the show's report."""

from __future__ import annotations

import time
from typing import Any, cast

from redis.asyncio import Redis

from ..shows.store import Show
from .keys import ActivityKeys, room_activities
from .store import CouponStore


async def wallet(redis: Redis, room_id: str, user_id: str) -> dict[str, Any]:
    """What ``user_id`` holds in this show: coupons (with their terms and status), packets,
    and ``credit``, the balance usable now (not expired, not spent)."""
    ids = cast(list[str], await redis.lrange(room_activities(room_id), 0, -1))
    if not ids:
        return {"coupons": [], "packets": [], "credit": 0}
    pipe = redis.pipeline(transaction=False)
    for activity_id in ids:
        pipe.hget(ActivityKeys(activity_id).mine, user_id)
        pipe.hmget(
            ActivityKeys(activity_id).info,
            ["title", "off_kind", "off_value", "min_spend", "offer_id", "expires_at"],
        )
    replies = await pipe.execute()
    owned: list[tuple[str, str, list[str | None]]] = []
    for activity_id, mine, info in zip(ids, replies[::2], replies[1::2], strict=True):
        for item_id in cast(str, mine or "").split():
            owned.append((activity_id, item_id, cast(list[str | None], info)))
    pipe = redis.pipeline(transaction=False)
    for activity_id, item_id, _ in owned:
        pipe.hmget(ActivityKeys(activity_id).item(item_id), ["status", "amount", "balance"])
    items = cast(list[list[str | None]], await pipe.execute()) if owned else []
    now = int(time.time() * 1000)
    coupons, packets, credit = [], [], 0
    for (activity_id, item_id, info), (status, amount, balance) in zip(owned, items, strict=True):
        expires_at = int(info[5] or 0)
        state = "expired" if status != "spent" and expires_at <= now else status or "active"
        if activity_id.startswith("d"):
            percent = info[1] == "percent"
            coupons.append(
                {
                    "coupon_id": item_id,
                    "drop_id": activity_id,
                    "title": info[0] or "",
                    "amount_off": None if percent else int(info[2] or 0),
                    "percent_off": int(info[2] or 0) if percent else None,
                    "min_spend": int(info[3] or 0),
                    "offer_id": info[4] or None,
                    "expires_at_ms": expires_at,
                    "status": state,
                }
            )
        else:
            left = int(balance or 0)
            if state in ("active", "locked"):
                credit += left
            packets.append(
                {
                    "packet_id": item_id,
                    "rain_id": activity_id,
                    "amount": int(amount or 0),
                    "balance": left,
                    "expires_at_ms": expires_at,
                    "status": state,
                }
            )
    return {"coupons": coupons, "packets": packets, "credit": credit}


def report_section(store: CouponStore) -> Any:
    """The show report's ``coupons`` section: every drop and rain with its figures. The
    show has ended, so what is still live or ready ends with it first."""

    async def section(show: Show) -> dict[str, Any]:
        for activity in await store.of_room(show.room_id):
            if activity.status != "ended":
                await store.end(activity)
        activities = await store.of_room(show.room_id)
        drops = [a.view() for a in activities if a.kind == "drop"]
        rains = [a.view() for a in activities if a.kind == "rain"]
        return {
            "drops": drops,
            "rains": rains,
            "coupons_claimed": sum(d["claimed"] for d in drops),
            "coupons_spent": sum(d["spent"] for d in drops),
            "discount_total": sum(d["spent_amount"] for d in drops),
            "credit_given": sum(r["grabbed_amount"] for r in rains),
            "credit_spent": sum(r["spent_amount"] for r in rains),
        }

    return section
