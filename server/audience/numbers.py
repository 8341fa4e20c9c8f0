"""A show's numbers minute by minute: viewers, chat messages, likes, reservations, orders and
GMV, for the console's live charts and the report's timeline (and its CSV).

Every few seconds (AudienceSettings.sample_interval_s) one process with viewers of a room
(SET NX per room and period) samples it: the viewers now (the most in a minute is kept) and
the running totals, kept under the sample's minute. A minute's figure is its last total less
the previous minute's; a minute without a sample carries the previous total (nothing
happened). Chat messages are counted per minute by the chat script itself.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from stockkeeper.cancellation import stop_if_cancelled
from stockkeeper.keeper import StockKeeper

from ..room.hub import live_viewers
from ..room.keys import RoomKeys
from .keys import AudienceKeys
from .watch_time import AUDIENCE_LUA, WatchTime

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
#: Running totals sampled besides viewers (GMV is kept per currency as ``gmv.EUR``...).
TOTALS = ("likes", "reservations", "orders")
#: A timeline longer than this many minutes keeps its last minutes only.
MAX_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Minute:
    """One minute of the show."""

    at_ms: int
    viewers: int
    chat_messages: int
    likes: int
    reservations: int
    orders: int
    gmv: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The minute as the API and the report carry it."""
        return {
            "at_ms": self.at_ms,
            "viewers": self.viewers,
            "chat_messages": self.chat_messages,
            "likes": self.likes,
            "reservations": self.reservations,
            "orders": self.orders,
            "gmv": self.gmv,
        }


class MinuteNumbers:
    """Samples rooms' numbers and reads them back as a timeline."""

    def __init__(self, redis: Redis, keeper: StockKeeper, watch: WatchTime) -> None:
        self.redis = redis
        self.keeper = keeper
        self.watch = watch
        self._sample = AUDIENCE_LUA.register(redis, "numbers_sample")

    async def sample(self, room_id: str, now_ms: int) -> None:
        """Note the room's numbers now under the current minute."""
        k = RoomKeys(room_id)
        per_process, likes = await _viewers_and_likes(self.redis, k)
        offers = await self.keeper.room_offers(room_id)
        totals: dict[str, int] = {
            "likes": int(likes or 0),
            "reservations": sum(o.reservations for o in offers),
            "orders": sum(o.orders for o in offers),
        }
        for offer in offers:
            name = f"gmv.{offer.currency}"
            totals[name] = totals.get(name, 0) + offer.sold * offer.unit_price
        args: list[str | int] = [now_ms // MINUTE_MS, live_viewers(per_process, now_ms)]
        for name, value in totals.items():
            args += [name, value]
        await self._sample(keys=[AudienceKeys(room_id).minutes], args=args)

    async def sample_if_due(self, room_id: str, now_ms: int, period_ms: int) -> bool:
        """Sample the room unless another process did in this period."""
        tick = AudienceKeys(room_id).sample_tick
        if not await self.redis.set(tick, "1", nx=True, px=max(1, int(period_ms * 0.9))):
            return False
        await self.sample(room_id, now_ms)
        return True

    async def run(self, interval_s: float, clock: Any) -> None:
        """Sample every room with viewers here, every ``interval_s``, until cancelled."""
        while True:
            stop_if_cancelled()
            await asyncio.sleep(interval_s)
            for room_id in self.watch.rooms_here():
                try:
                    await self.sample_if_due(room_id, clock(), int(interval_s * 1000))
                except (RedisError, OSError) as exc:
                    log.warning("Could not sample room %s (%s); next time", room_id, exc)
                except Exception:
                    log.exception("Sampling room %s failed", room_id)

    async def timeline(self, room_id: str, from_ms: int, to_ms: int) -> list[Minute]:
        """Every minute from ``from_ms`` to ``to_ms`` (both included)."""
        k = RoomKeys(room_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(AudienceKeys(room_id).minutes)
        pipe.hgetall(k.chat_minutes)
        raw, chat = cast(list[dict[str, str]], await pipe.execute())
        return build_timeline(raw, chat, from_ms, to_ms)


async def _viewers_and_likes(redis: Redis, k: RoomKeys) -> tuple[Mapping[str, str], str | None]:
    """The room's per-process viewer entries and its like counter, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(k.viewers)
    pipe.get(k.likes)
    per_process, likes = await pipe.execute()
    return cast(Mapping[str, str], per_process), cast(str | None, likes)


def build_timeline(
    raw: Mapping[str, str], chat: Mapping[str, str], from_ms: int, to_ms: int
) -> list[Minute]:
    """Minutes from the sampled running totals (see the module's docstring)."""
    by_minute: dict[int, dict[str, int]] = defaultdict(dict)
    for name, value in raw.items():
        at, _, figure = name.partition(":")
        by_minute[int(at)][figure] = int(value)
    first, last = from_ms // MINUTE_MS, to_ms // MINUTE_MS
    first = max(first, last - MAX_MINUTES + 1)
    # Totals before the first minute shown: the last sample before it.
    before = [m for m in by_minute if m < first]
    carried: dict[str, int] = dict(by_minute[max(before)]) if before else {}
    carried.pop("viewers", None)
    minutes = []
    for minute in range(first, last + 1):
        sampled = by_minute.get(minute, {})
        # Rooms are sampled while any process has viewers of them: no sample, no viewers.
        viewers = sampled.get("viewers", 0)
        now = {**carried, **{k: v for k, v in sampled.items() if k != "viewers"}}
        gmv = {
            name[4:]: now[name] - carried.get(name, 0)
            for name in sorted(now)
            if name.startswith("gmv.") and now[name] - carried.get(name, 0)
        }
        minutes.append(
            Minute(
                at_ms=minute * MINUTE_MS,
                viewers=viewers,
                chat_messages=int(chat.get(str(minute), 0)),
                likes=now.get("likes", 0) - carried.get("likes", 0),
                reservations=now.get("reservations", 0) - carried.get("reservations", 0),
                orders=now.get("orders", 0) - carried.get("orders", 0),
                gmv=gmv,
            )
        )
        carried = now
    return minutes


def timeline_csv(minutes: list[dict[str, Any]]) -> str:
    """The timeline as CSV: one row per minute, one GMV column per currency."""
    currencies = sorted({c for m in minutes for c in m["gmv"]})
    out = io.StringIO()
    writer = csv.writer(out)
    head = ["minute_utc_ms", "viewers", "chat_messages", "likes", "reservations", "orders"]
    writer.writerow(head + [f"gmv_{c}" for c in currencies])
    for m in minutes:
        writer.writerow(
            [m["at_ms"], m["viewers"], m["chat_messages"], m["likes"], m["reservations"]]
            + [m["orders"]]
            + [m["gmv"].get(c, 0) for c in currencies]
        )
    return out.getvalue()
