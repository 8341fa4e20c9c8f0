"""The draw: every process's checker closes giveaways whose window is over and draws them,
exactly once however many processes see the window close; hosts redraw unclaimed prizes.

A draw is two scripts: giveaway_close.lua freezes the entries (no entry is taken after it),
then the winners are computed here from the frozen, sorted entries and the committed seed
(draw.py) and giveaway_draw.lua stores them, with the Kafka result, only if nobody stored
that round before. Every process computes the same winners from the same frozen list, so
whichever store comes first is the draw; the others find it done.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import orjson

from ..errors import Conflict, ErrorCode
from ..loops import every
from ..room.keys import RoomKeys
from . import draw, keys
from .giveaway_scripts import Drawn, RoundToStore
from .keys import GiveawayKeys
from .models import Giveaway
from .service import Giveaways

log = logging.getLogger(__name__)

RESULT_SCHEMA = "livesale.giveaway_result"
RESULT_VERSION = 1
#: A drawn round nobody announced this long after its draw (its process died) is announced
#: by the next checker.
ANNOUNCE_AFTER_MS = 10_000


def _now_ms() -> int:
    return int(time.time() * 1000)


class Drawing:
    """Closing, drawing, redrawing and announcing giveaways."""

    def __init__(self, giveaways: Giveaways) -> None:
        self.giveaways = giveaways
        self.redis = giveaways.redis
        self.settings = giveaways.settings

    async def check_once(self) -> None:
        """Draw every giveaway whose window is over; publish the entry counts of the others."""
        due = cast(
            list[tuple[str, float]], await self.redis.zrange(keys.DUE, 0, -1, withscores=True)
        )
        now = _now_ms()
        for giveaway_id, ends_at in due:
            if ends_at <= now:
                await self.close_and_draw(giveaway_id)
            else:
                await self.publish_count(giveaway_id)

    async def publish_count(self, giveaway_id: str) -> None:
        """The entry count to the room, by one process per interval, when it changed."""
        k = GiveawayKeys(giveaway_id)
        interval = self.settings.count_interval_ms
        if not await self.redis.set(k.count_tick, "1", nx=True, px=interval):
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.hlen(k.entries)
        pipe.hmget(k.giveaway, ["room_id", "published_count", "state"])
        count, (room_id, published, state) = await pipe.execute()
        if room_id is None or state != "open" or str(count) == published:
            return
        await self.redis.hset(k.giveaway, "published_count", count)
        await self.giveaways.publisher.publish(
            room_id, "giveaway_entries", {"giveaway_id": giveaway_id, "entries": count}
        )

    async def close_and_draw(self, giveaway_id: str) -> bool:
        """Close and draw a giveaway whose window is over; True when this call drew it."""
        k = GiveawayKeys(giveaway_id)
        closed = await self.giveaways.scripts.close(k)
        if closed.state == "unknown":
            await self.redis.zrem(keys.DUE, giveaway_id)
            return False
        if closed.state == "open":
            return False
        giveaway = await self.giveaways.get(giveaway_id)
        mine = False
        if giveaway.state == "closing":
            drawn = await self._draw_round(giveaway, 0, giveaway.spec.prizes, [], 0)
            mine = drawn.outcome == "drawn"
            giveaway = await self.giveaways.get(giveaway_id)
        if giveaway.state != "drawn":
            return False
        if giveaway.announced < giveaway.round and (
            mine or _now_ms() - giveaway.round_drawn_at > ANNOUNCE_AFTER_MS
        ):
            await self.announce(giveaway)
        if giveaway.announced >= giveaway.round or mine:
            await self.redis.zrem(keys.DUE, giveaway_id)
        return mine

    async def redraw(self, giveaway: Giveaway) -> Giveaway:
        """Draw new winners for the prizes nobody claimed in time (the next round)."""
        if giveaway.state != "drawn":
            raise Conflict(ErrorCode.GIVEAWAY_NOT_DRAWN, "This giveaway has not been drawn yet.")
        if _now_ms() <= giveaway.claim_until:
            raise Conflict(
                ErrorCode.CLAIM_WINDOW_OPEN,
                "Winners may still claim their prizes; redraw after the claim window.",
                claim_until_ms=giveaway.claim_until,
            )
        k = GiveawayKeys(giveaway.id)
        claims = int(await self.redis.hlen(k.claims))
        earlier = cast(list[str], await self.redis.hkeys(k.winners))
        prizes = giveaway.spec.prizes - claims
        if prizes <= 0:
            raise Conflict(ErrorCode.NOTHING_TO_REDRAW, "Every prize has been claimed.")
        await self.redis.zadd(keys.DUE, {giveaway.id: _now_ms()})
        drawn = await self._draw_round(giveaway, giveaway.round + 1, prizes, earlier, claims)
        if drawn.outcome == "claim_window_open":
            raise Conflict(
                ErrorCode.CLAIM_WINDOW_OPEN,
                "Winners may still claim their prizes; redraw after the claim window.",
                claim_until_ms=drawn.claim_until,
            )
        redrawn = await self.giveaways.get(giveaway.id)
        if drawn.outcome == "drawn":
            await self.announce(redrawn)
            await self.redis.zrem(keys.DUE, giveaway.id)
        return redrawn

    async def _draw_round(
        self, giveaway: Giveaway, round_: int, prizes: int, earlier: list[str], claims: int
    ) -> Drawn:
        """Compute round ``round_``'s winners from the frozen entries and store them."""
        k = GiveawayKeys(giveaway.id)
        entries = draw.canonical(cast(list[str], await self.redis.hkeys(k.entries)))
        list_hash = draw.entries_hash(entries)
        if round_ > 0 and list_hash != giveaway.entries_hash:
            raise RuntimeError(f"Giveaway {giveaway.id}: its frozen entries changed")
        banned = cast(set[str], await self.redis.smembers(RoomKeys(giveaway.room_id).banned))
        excluded = [user_id for user_id in entries if user_id in banned]
        candidates = draw.pool(entries, earlier, excluded)
        if round_ > 0 and not candidates:
            raise Conflict(ErrorCode.NOTHING_TO_REDRAW, "Nobody is left to draw from.")
        seed = bytes.fromhex(giveaway.seed)
        winners = draw.pick(seed, list_hash, round_, candidates, prizes)
        record = {"round": round_, "prizes": prizes, "excluded": excluded, "winners": winners}
        event = {
            "schema": RESULT_SCHEMA,
            "schema_version": RESULT_VERSION,
            "algorithm": draw.ALGORITHM,
            "giveaway_id": giveaway.id,
            "room_id": giveaway.room_id,
            "title": giveaway.spec.title,
            "sku": giveaway.spec.sku,
            "entries_count": len(entries),
            "entries_hash": list_hash,
            "commitment": giveaway.commitment,
            "seed": giveaway.seed,
            **record,
        }
        return await self.giveaways.scripts.draw(
            k,
            RoundToStore(
                round=round_,
                entries_hash=list_hash,
                entries_count=len(entries),
                record=orjson.dumps(record).decode(),
                claim_window_ms=self.settings.claim_window_s * 1000,
                topic=self.settings.results_topic,
                # The script closes the object after adding the times from Redis's clock.
                event_prefix=orjson.dumps(event).decode()[:-1],
                claims_counted=claims,
                winners=winners,
            ),
        )

    async def announce(self, giveaway: Giveaway) -> None:
        """Tell the room the latest round's result, and each of its winners privately."""
        k = GiveawayKeys(giveaway.id)
        record = orjson.loads(cast(str, await self.redis.hget(k.rounds, str(giveaway.round))))
        names = cast(
            list[str | None],
            await self.redis.hmget(k.entries, record["winners"]) if record["winners"] else [],
        )
        winners = [
            {"user_id": u, "name": name or u}
            for u, name in zip(record["winners"], names, strict=True)
        ]
        drawn: dict[str, Any] = {
            "giveaway_id": giveaway.id,
            "title": giveaway.spec.title,
            "round": giveaway.round,
            "entries": giveaway.entries_count,
            "entries_hash": giveaway.entries_hash,
            "commitment": giveaway.commitment,
            "seed": giveaway.seed,
            "winners": winners,
            "claim_until_ms": giveaway.claim_until,
            "verify_url": f"/api/giveaways/{giveaway.id}/draw",
        }
        won = {
            "giveaway_id": giveaway.id,
            "title": giveaway.spec.title,
            "sku": giveaway.spec.sku,
            "round": giveaway.round,
            "claim_until_ms": giveaway.claim_until,
        }
        events = [(giveaway.room_id, "giveaway_drawn", drawn, "")]
        events += [(giveaway.room_id, "giveaway_won", won, w["user_id"]) for w in winners]
        await self.giveaways.publisher.publish_many(events)
        await self.redis.hdel(keys.room_keywords(giveaway.room_id), giveaway.id)
        await self.redis.hset(k.giveaway, "announced", giveaway.round)


async def run_checker(drawing: Drawing, interval_s: float) -> None:
    """Every ``interval_s``: draw what is due, publish entry counts. Runs in every process."""
    await every("Giveaway checker", drawing.check_once, interval_s)
