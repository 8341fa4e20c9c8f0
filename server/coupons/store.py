"""Coupon drops and red packet rains of a show: create, start, claim or grab, end.

Each claim and grab is one script in the activity's slot (coupon_scripts.py); room events
tell viewers when one starts, how many were claimed (at most a few a second), and when it
ends. Paying with what viewers hold is checkout.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..errors import Conflict, ErrorCode, NotFound
from ..room.publisher import RoomPublisher
from .coupon_scripts import ClaimReply, CouponScripts
from .keys import ACTIVITIES, ACTIVITY_ID, SEQUENCE, ActivityKeys, room_activities
from .models import Activity, ActivityKind, ActivityStatus, Claimed, DropSpec, RainSpec
from .split import double_mean

log = logging.getLogger(__name__)

#: Claimed counts reach viewers at most this often per activity.
COUNT_EVENT_INTERVAL_MS = 300


def _now_ms() -> int:
    return int(time.time() * 1000)


class CouponStore:
    """A show's drops and rains over one Redis client (decoding replies)."""

    def __init__(self, redis: Redis, publisher: RoomPublisher | None) -> None:
        self.redis = redis
        self.publisher = publisher
        self.scripts = CouponScripts(redis)
        self._count_tasks: set[asyncio.Task[None]] = set()
        #: Activity id -> when this process last scheduled a count event (monotonic s).
        self._count_scheduled: dict[str, float] = {}

    # --------------------------------------------------------------- hosts

    async def create_drop(self, room_id: str, spec: DropSpec) -> Activity:
        """A new drop, ready to start."""
        fields: dict[str, str | int] = {
            "off_kind": spec.off_kind,
            "off_value": spec.off_value,
            "min_spend": spec.min_spend,
            "offer_id": spec.offer_id,
            "quota": spec.quota,
            "per_viewer": spec.per_viewer,
            "claimed": 0,
            "window_ms": spec.claim_seconds * 1000,
            "valid_ms": spec.valid_seconds * 1000,
        }
        return await self._create(room_id, "drop", spec.title, fields)

    async def create_rain(self, room_id: str, spec: RainSpec) -> Activity:
        """A new red packet rain, ready to start."""
        fields: dict[str, str | int] = {
            "pool": spec.pool,
            "packets": spec.packets,
            "grabbed": 0,
            "grabbed_amount": 0,
            "window_ms": spec.window_seconds * 1000,
            "valid_ms": spec.valid_seconds * 1000,
        }
        return await self._create(room_id, "rain", spec.title, fields)

    async def _create(
        self, room_id: str, kind: ActivityKind, title: str, fields: dict[str, str | int]
    ) -> Activity:
        activity_id = f"{kind[0]}{await self.redis.incr(SEQUENCE)}"
        raw: dict[str, str | int] = {
            **fields,
            "id": activity_id,
            "kind": kind,
            "room_id": room_id,
            "title": title,
            "status": "ready",
            "created_at": _now_ms(),
            "spent": 0,
            "spent_amount": 0,
        }
        await self.redis.hset(ActivityKeys(activity_id).info, mapping=dict(raw))  # type: ignore[arg-type]
        await self.redis.rpush(room_activities(room_id), activity_id)
        await self.redis.sadd(ACTIVITIES, activity_id)
        return _activity(activity_id, {k: str(v) for k, v in raw.items()})

    async def start(self, activity: Activity) -> Activity:
        """Open its claim window now; viewers get ``coupon_drop_started`` or
        ``red_packet_rain_started``. A rain's pool is split here (split.py)."""
        packets = (
            double_mean(activity.number("pool"), activity.number("packets"))
            if activity.kind == "rain"
            else []
        )
        reply = await self.scripts.start(ActivityKeys(activity.activity_id), packets)
        if not reply.started:
            raise Conflict(
                ErrorCode.DROP_STATE,
                f"This {_noun(activity.kind)} is {reply.state}; only a new one can start.",
                state=reply.state,
            )
        started = await self.require(activity.room_id, activity.activity_id)
        await self._publish(started, "started", {_noun_key(started.kind): started.view()})
        return started

    async def end(self, activity: Activity) -> Activity:
        """End it now (ending twice is harmless); viewers get its ``..._ended`` event once."""
        if await self.scripts.end(ActivityKeys(activity.activity_id)):
            ended = await self.require(activity.room_id, activity.activity_id)
            await self._publish(ended, "ended", _figures(ended))
            return ended
        return await self.require(activity.room_id, activity.activity_id)

    async def end_if_over(self, activity_id: str) -> None:
        """End a live activity whose window has passed (the repairer's rounds)."""
        raw = cast(dict[str, str], await self.redis.hgetall(ActivityKeys(activity_id).info))
        if raw.get("status") == "live" and int(raw.get("ends_at") or 0) <= _now_ms():
            await self.end(_activity(activity_id, raw))

    # ------------------------------------------------------------- reading

    async def get(self, activity_id: str) -> Activity | None:
        """A drop or rain by id, or None."""
        if not ACTIVITY_ID.match(activity_id):
            return None
        raw = cast(dict[str, str], await self.redis.hgetall(ActivityKeys(activity_id).info))
        return _activity(activity_id, raw) if raw else None

    async def require(
        self, room_id: str, activity_id: str, kind: ActivityKind | None = None
    ) -> Activity:
        """The room's drop or rain with this id; NotFound ``unknown_drop`` otherwise."""
        found = await self.get(activity_id)
        if found is None or found.room_id != room_id or (kind and found.kind != kind):
            raise NotFound(ErrorCode.UNKNOWN_DROP, "This show has no such drop or rain.")
        return found

    async def of_room(self, room_id: str) -> list[Activity]:
        """Every drop and rain of a show, oldest first."""
        ids = cast(list[str], await self.redis.lrange(room_activities(room_id), 0, -1))
        pipe = self.redis.pipeline(transaction=False)
        for activity_id in ids:
            pipe.hgetall(ActivityKeys(activity_id).info)
        raws = cast(list[dict[str, str]], await pipe.execute()) if ids else []
        return [_activity(i, raw) for i, raw in zip(ids, raws, strict=True) if raw]

    # ------------------------------------------------------------- viewers

    async def claim(self, room_id: str, drop_id: str, user_id: str, key: str) -> Claimed:
        """Claim a coupon of a live drop; the same coupon again for a retried key. One
        script call: the drop's room and state are checked in it."""
        if not drop_id.startswith("d") or not ACTIVITY_ID.match(drop_id):
            raise NotFound(ErrorCode.UNKNOWN_DROP, "This show has no such drop or rain.")
        reply = await self.scripts.claim(ActivityKeys(drop_id), room_id, user_id, key)
        return self._claimed(room_id, drop_id, "drop", reply)

    async def grab(self, room_id: str, rain_id: str, user_id: str, key: str) -> Claimed:
        """Grab a packet of a live rain; the same packet again for a retried key."""
        if not rain_id.startswith("r") or not ACTIVITY_ID.match(rain_id):
            raise NotFound(ErrorCode.UNKNOWN_DROP, "This show has no such drop or rain.")
        reply = await self.scripts.grab(ActivityKeys(rain_id), room_id, user_id, key)
        return self._claimed(room_id, rain_id, "rain", reply)

    def _claimed(
        self, room_id: str, activity_id: str, kind: ActivityKind, reply: ClaimReply
    ) -> Claimed:
        noun = _noun(kind)
        match reply.outcome:
            case "claimed":
                if not reply.replayed:
                    self._count_soon(activity_id)
                return Claimed(
                    reply.item_id, reply.replayed, reply.count, reply.total, reply.amount
                )
            case "not_live":
                raise Conflict(ErrorCode.DROP_NOT_LIVE, f"This {noun} has not started yet.")
            case "window_over":
                raise Conflict(ErrorCode.CLAIM_WINDOW_OVER, f"This {noun} is over.")
            case "exhausted":
                raise Conflict(
                    ErrorCode.DROP_EXHAUSTED,
                    "Every coupon of this drop is claimed."
                    if kind == "drop"
                    else "Every packet of this rain is taken.",
                    claimed=reply.count,
                    total=reply.total,
                )
            case "already_claimed":
                raise Conflict(
                    ErrorCode.ALREADY_CLAIMED,
                    "You have claimed as many coupons of this drop as it allows."
                    if kind == "drop"
                    else "You have your packet of this rain already.",
                    claims=reply.count or 1,
                )
        raise NotFound(ErrorCode.UNKNOWN_DROP, "This show has no such drop or rain.")

    # -------------------------------------------------------------- events

    def _count_soon(self, activity_id: str) -> None:
        """Publish the claimed count a moment from now, at most every 300 ms per activity:
        the first claim of each period schedules it, and it reads the count then, so the
        claims of the whole period are in it."""
        if self.publisher is None:
            return
        now = time.monotonic()
        if now - self._count_scheduled.get(activity_id, 0.0) < COUNT_EVENT_INTERVAL_MS / 1000:
            return  # the event this process scheduled will carry this claim
        self._count_scheduled[activity_id] = now
        task = asyncio.create_task(self._count_later(activity_id))
        self._count_tasks.add(task)
        task.add_done_callback(self._count_tasks.discard)

    async def _count_later(self, activity_id: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            tick = ActivityKeys(activity_id).prefix + "count-tick"
            if not await self.redis.set(tick, 1, nx=True, px=COUNT_EVENT_INTERVAL_MS):
                return
            await asyncio.sleep(COUNT_EVENT_INTERVAL_MS / 1000 + 0.05)
            now = await self.get(activity_id)
            if now is not None and now.status == "live":
                await self._publish(
                    now, "claimed" if now.kind == "drop" else "grabbed", _figures(now)
                )

    async def close(self) -> None:
        """Wait for the count events scheduled."""
        if self._count_tasks:
            await asyncio.gather(*self._count_tasks, return_exceptions=True)
        await self.scripts.close()

    async def _publish(self, activity: Activity, what: str, data: dict[str, Any]) -> None:
        if self.publisher is None:
            return
        prefix = "coupon_drop" if activity.kind == "drop" else "red_packet_rain"
        try:
            await self.publisher.publish(activity.room_id, f"{prefix}_{what}", data)
        except (RedisError, OSError):
            log.warning(
                "Could not tell room %s that %s %s", activity.room_id, activity.activity_id, what
            )


def _activity(activity_id: str, raw: dict[str, str]) -> Activity:
    return Activity(
        activity_id,
        cast(ActivityKind, raw.get("kind", "drop")),
        raw.get("room_id", ""),
        raw.get("title", ""),
        cast(ActivityStatus, raw.get("status", "ready")),
        raw,
    )


def _figures(activity: Activity) -> dict[str, Any]:
    if activity.kind == "drop":
        return {
            "drop_id": activity.activity_id,
            "claimed": activity.number("claimed"),
            "quota": activity.number("quota"),
        }
    return {
        "rain_id": activity.activity_id,
        "grabbed": activity.number("grabbed"),
        "packets": activity.number("packets"),
        "grabbed_amount": activity.number("grabbed_amount"),
    }


def _noun(kind: ActivityKind) -> str:
    return "drop" if kind == "drop" else "rain"


def _noun_key(kind: ActivityKind) -> str:
    return "drop" if kind == "drop" else "rain"
