"""Giveaways as hosts run them and viewers enter and claim them.

Every change of a giveaway is one Lua script over its own keys (giveaway_scripts.py). The
checks that read another slot (the room's bans, the show's buyers, watch time) run here
before the entry script; a ban that lands after an entry is applied again at the draw, so a
banned viewer never wins.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

import orjson
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys, bucket_ids
from stockkeeper.relay import register_outbox

from ..errors import Conflict, ErrorCode, Forbidden, NotFound
from ..room.keys import RoomKeys
from ..room.publisher import RoomPublisher
from . import draw, keys
from .giveaway_scripts import GiveawayScripts
from .keys import GiveawayKeys, order_id_of
from .models import Giveaway, GiveawaySpec
from .settings import GiveawaySettings

#: The most giveaways a room's list shows, newest first.
ROOM_LIST = 20


class WatchTimes(Protocol):
    """How long a viewer has been in a room (server/audience's ``WatchTime`` fits)."""

    async def seconds(self, room_id: str, user_id: str, now_ms: int) -> int:
        """Seconds ``user_id`` spent in ``room_id`` so far, the current visit included."""
        ...


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry's outcome: ``entered`` now or ``already_entered`` before, and the count."""

    giveaway_id: str
    outcome: Literal["entered", "already_entered"]
    entries: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed prize: its zero-amount order (``replayed`` when claimed before)."""

    giveaway_id: str
    order_id: str
    confirmed_at: int
    replayed: bool


def unknown_giveaway() -> NotFound:
    """The error for a giveaway that does not exist (or is not in the room named)."""
    return NotFound(ErrorCode.UNKNOWN_GIVEAWAY, "There is no such giveaway.")


class Giveaways:
    """Create, start, enter, claim and read giveaways (the draw is in drawing.py)."""

    def __init__(
        self,
        redis: Redis,
        publisher: RoomPublisher,
        keeper: StockKeeper,
        settings: GiveawaySettings,
        watch_time: WatchTimes | None = None,
    ) -> None:
        self.redis = redis
        self.publisher = publisher
        self.keeper = keeper
        self.settings = settings
        self.watch_time = watch_time
        self.scripts = GiveawayScripts(redis)

    # ------------------------------------------------------------------ reading

    async def get(self, giveaway_id: str) -> Giveaway:
        """The giveaway, or ``unknown_giveaway``."""
        if not giveaway_id.isdigit() or len(giveaway_id) > 18:
            raise unknown_giveaway()
        raw = cast(dict[str, str], await self.redis.hgetall(GiveawayKeys(giveaway_id).giveaway))
        if "id" not in raw:
            raise unknown_giveaway()
        return Giveaway.from_hash(raw)

    async def in_room(self, room_id: str, giveaway_id: str) -> Giveaway:
        """The giveaway of this room, or ``unknown_giveaway`` (also for another room's)."""
        giveaway = await self.get(giveaway_id)
        if giveaway.room_id != room_id:
            raise unknown_giveaway()
        return giveaway

    async def of_room(
        self, room_id: str, drafts: bool = False, limit: int = ROOM_LIST
    ) -> list[Giveaway]:
        """The room's latest giveaways, newest first (drafts only for its host)."""
        ids = cast(list[str], await self.redis.zrevrange(keys.room_giveaways(room_id), 0, -1))
        found: list[Giveaway] = []
        for giveaway_id in ids:
            giveaway = await self.get(giveaway_id)
            if drafts or giveaway.state != "draft":
                found.append(giveaway)
            if len(found) == limit:
                break
        return found

    async def entry_count(self, giveaway_id: str) -> int:
        """How many viewers entered so far."""
        return int(await self.redis.hlen(GiveawayKeys(giveaway_id).entries))

    async def winners(self, giveaway: Giveaway) -> list[dict[str, Any]]:
        """Every round's winners, in draw order: user id, name, round, claimed or not."""
        if giveaway.state != "drawn":
            return []
        k = GiveawayKeys(giveaway.id)
        rounds = cast(dict[str, str], await self.redis.hgetall(k.rounds))
        claims = cast(dict[str, str], await self.redis.hgetall(k.claims))
        ordered = [
            (int(r), user_id)
            for r in sorted(rounds, key=int)
            for user_id in orjson.loads(rounds[r])["winners"]
        ]
        names = await self.redis.hmget(k.entries, [u for _, u in ordered]) if ordered else []
        return [
            {"user_id": u, "name": name or u, "round": r, "claimed": u in claims}
            for (r, u), name in zip(ordered, names, strict=True)
        ]

    async def view(self, giveaway: Giveaway) -> dict[str, Any]:
        """The public view of a giveaway, with its entry count and winners."""
        return giveaway.view(await self.entry_count(giveaway.id), await self.winners(giveaway))

    async def mine(self, giveaway: Giveaway, user_id: str) -> dict[str, Any]:
        """A viewer's own standing: entered, won (and until when to claim), claimed."""
        k = GiveawayKeys(giveaway.id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hexists(k.entries, user_id)
        pipe.hget(k.winners, user_id)
        pipe.hget(k.claims, user_id)
        pipe.hgetall(k.giveaway)
        pipe.hget(k.prize_order(user_id), "confirmed_at")
        entered, won_round, order_id, raw, confirmed_at = await pipe.execute()
        if order_id and confirmed_at:
            # Recorded in "my orders" again (nothing changes when it is there): a claim whose
            # record failed after the claim itself (Redis away between the two) is healed
            # by the winner's next look, as the page hides the claim form from then on.
            await self.keeper.recorder.record(user_id, order_id, int(confirmed_at))
        claim_until = int(raw.get(f"claim_until:{won_round}", 0)) if won_round else 0
        return {
            "entered": bool(entered),
            "won": won_round is not None,
            "claim_until_ms": claim_until or None,
            "order_id": order_id,
        }

    async def draw_record(self, giveaway: Giveaway) -> dict[str, Any]:
        """Everything ``livesale verify-draw`` needs to recompute the winners."""
        if giveaway.state != "drawn":
            raise Conflict(ErrorCode.GIVEAWAY_NOT_DRAWN, "This giveaway has not been drawn yet.")
        k = GiveawayKeys(giveaway.id)
        rounds = cast(dict[str, str], await self.redis.hgetall(k.rounds))
        entries = draw.canonical(cast(list[str], await self.redis.hkeys(k.entries)))
        return {
            "algorithm": draw.ALGORITHM,
            "giveaway_id": giveaway.id,
            "room_id": giveaway.room_id,
            "title": giveaway.spec.title,
            "prizes": giveaway.spec.prizes,
            "commitment": giveaway.commitment,
            "seed": giveaway.seed,
            "entries_hash": giveaway.entries_hash,
            "entries": entries,
            "rounds": [orjson.loads(rounds[r]) for r in sorted(rounds, key=int)],
        }

    # ------------------------------------------------------------------ hosts

    async def create(
        self,
        room_id: str,
        host_id: str,
        spec: GiveawaySpec,
        reward_id: str = "",
        giveaway_id: str | None = None,
    ) -> Giveaway:
        """A draft giveaway in the room; its outbox is registered with the relay first.
        With ``giveaway_id`` (reserved beforehand) a second call returns the first's."""
        spec = spec.checked()
        reserved = giveaway_id is not None
        giveaway_id = giveaway_id or await self.new_id()
        k = GiveawayKeys(giveaway_id)
        await register_outbox(self.redis, k.outbox)
        fields: dict[str, str | int] = {
            "id": giveaway_id,
            "room_id": room_id,
            "host_id": host_id,
            "title": spec.title,
            "sku": spec.sku,
            "prizes": spec.prizes,
            "window_s": spec.window_s,
            "rule": spec.rule,
            "keyword": spec.keyword,
            "min_watch_s": spec.min_watch_s,
            "reward_id": reward_id,
        }
        created_at = await self.scripts.create(k, fields)
        if created_at is None:
            if reserved:
                return await self.get(giveaway_id)
            # The id counter was reset under an old giveaway.
            raise Conflict(ErrorCode.INVALID_STATE, "Giveaway ids clash; try again.")
        await self.redis.zadd(keys.room_giveaways(room_id), {giveaway_id: created_at})
        return await self.get(giveaway_id)

    async def new_id(self) -> str:
        """A giveaway id no giveaway has."""
        return str(await self.redis.incr(keys.NEXT_ID))

    async def start(self, giveaway: Giveaway) -> Giveaway:
        """Open the entry window and publish the commitment to the secret seed (once)."""
        seed = secrets.token_bytes(draw.SEED_BYTES)
        k = GiveawayKeys(giveaway.id)
        started = await self.scripts.start(k, seed.hex(), draw.commitment(seed))
        if started.outcome == "unknown":
            raise unknown_giveaway()
        if started.outcome in ("started", "open"):
            # Again after a start that did not get this far: the checker must see it.
            await self.redis.zadd(keys.DUE, {giveaway.id: started.ends_at})
            if giveaway.spec.rule == "keyword":
                await self.redis.hset(
                    keys.room_keywords(giveaway.room_id),
                    giveaway.id,
                    giveaway.spec.keyword.casefold(),
                )
        opened = await self.get(giveaway.id)
        if started.outcome == "started":
            await self.publisher.publish(
                giveaway.room_id,
                "giveaway_started",
                {
                    "giveaway": opened.view(0, []),
                    "commitment": opened.commitment,
                    "ends_at_ms": opened.ends_at,
                },
            )
        return opened

    # ------------------------------------------------------------------ viewers

    async def enter(
        self, giveaway_id: str, user_id: str, name: str, by_keyword: bool = False
    ) -> Entry:
        """Enter a viewer who meets the rule; entering again answers ``already_entered``."""
        giveaway = await self.get(giveaway_id)
        if giveaway.state == "draft":
            raise Conflict(ErrorCode.GIVEAWAY_NOT_OPEN, "This giveaway has not started yet.")
        if giveaway.state != "open":
            raise Conflict(ErrorCode.GIVEAWAY_CLOSED, "Entries to this giveaway are closed.")
        if await self.redis.sismember(RoomKeys(giveaway.room_id).banned, user_id):
            raise Forbidden(ErrorCode.BANNED, "You have been removed from this room.")
        await self._check_rule(giveaway, user_id, by_keyword)
        entered = await self.scripts.enter(GiveawayKeys(giveaway.id), user_id, name)
        match entered.outcome:
            case "entered" | "already":
                if entered.outcome == "entered":
                    return Entry(giveaway.id, "entered", entered.entries)
                return Entry(giveaway.id, "already_entered", entered.entries)
            case "not_open":
                raise Conflict(ErrorCode.GIVEAWAY_NOT_OPEN, "This giveaway has not started yet.")
            case "closed":
                raise Conflict(ErrorCode.GIVEAWAY_CLOSED, "Entries to this giveaway are closed.")
        raise unknown_giveaway()

    async def _check_rule(self, giveaway: Giveaway, user_id: str, by_keyword: bool) -> None:
        spec = giveaway.spec
        if spec.rule == "keyword" and not by_keyword:
            raise Forbidden(
                ErrorCode.ENTRY_RULE_NOT_MET,
                f"Post {spec.keyword!r} in the chat to enter.",
                keyword=spec.keyword,
            )
        if spec.rule == "watched":
            watched = 0
            if self.watch_time is not None:
                watched = await self.watch_time.seconds(
                    giveaway.room_id, user_id, int(time.time() * 1000)
                )
            if watched < spec.min_watch_s:
                raise Forbidden(
                    ErrorCode.ENTRY_RULE_NOT_MET,
                    f"Watch the show for {spec.min_watch_s} s to enter.",
                    watched_s=watched,
                    min_watch_s=spec.min_watch_s,
                )
        if spec.rule == "bought" and not await self._bought(giveaway.room_id, user_id):
            raise Forbidden(ErrorCode.ENTRY_RULE_NOT_MET, "Buy something in this show to enter.")

    async def _bought(self, room_id: str, user_id: str) -> bool:
        """Whether the viewer has a paid order for an offer of the room (any bucket)."""
        pipe = self.redis.pipeline(transaction=False)
        for offer in await self.keeper.room_offers(room_id):
            for bucket in bucket_ids(offer.id, offer.buckets):
                pipe.sismember(OfferKeys(bucket).buyers, user_id)
        return any(await pipe.execute())

    async def enter_by_chat(self, room_id: str, user_id: str, name: str, text: str) -> list[str]:
        """Enter the viewer into every open keyword giveaway of the room whose keyword
        ``text`` contains; the ids of those entered now or before."""
        wanted = cast(dict[str, str], await self.redis.hgetall(keys.room_keywords(room_id)))
        folded = text.casefold()
        entered: list[str] = []
        for giveaway_id, keyword in wanted.items():
            if keyword and keyword in folded:
                try:
                    await self.enter(giveaway_id, user_id, name, by_keyword=True)
                except (Conflict, Forbidden, NotFound):
                    continue
                entered.append(giveaway_id)
        return entered

    async def claim(self, giveaway_id: str, user_id: str, shipping: dict[str, Any]) -> Claim:
        """A winner's prize, shipped to ``shipping``: a zero-amount order (once)."""
        giveaway = await self.get(giveaway_id)
        if await self.redis.sismember(RoomKeys(giveaway.room_id).banned, user_id):
            raise Forbidden(ErrorCode.BANNED, "You have been removed from this room.")
        claimed = await self.scripts.claim(
            GiveawayKeys(giveaway.id),
            user_id,
            order_id_of(giveaway.id, user_id),
            orjson.dumps(shipping).decode(),
            self.settings.currency,
        )
        match claimed.outcome:
            case "claimed" | "already":
                # Into the winner's "my orders" beside their purchases (again after a retry:
                # it heals an index that lost the record; recorder.py).
                if claimed.confirmed_at:
                    await self.keeper.recorder.record(
                        user_id, claimed.order_id, claimed.confirmed_at
                    )
                replayed = claimed.outcome == "already"
                return Claim(giveaway.id, claimed.order_id, claimed.confirmed_at, replayed)
            case "not_drawn":
                raise Conflict(
                    ErrorCode.GIVEAWAY_NOT_DRAWN, "This giveaway has not been drawn yet."
                )
            case "not_winner":
                raise Forbidden(ErrorCode.NOT_A_WINNER, "Only a winner may claim this prize.")
            case "window_over":
                raise Conflict(
                    ErrorCode.CLAIM_WINDOW_OVER,
                    "The time to claim this prize is over.",
                    claim_until_ms=claimed.claim_until,
                )
        raise unknown_giveaway()
