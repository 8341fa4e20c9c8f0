"""Fan-out of room events to this process's viewers.

Every process with viewers of a room subscribes to the room's channel: a sharded pub/sub
channel (SSUBSCRIBE), which in Redis Cluster lives only on the shard of the room's slot.
A room's events go out as soon as they arrive while they are sparse; once they come faster
than one frame per batch window on average, the events arriving in between wait and go out
together (adaptive batching, pacing.py: a quiet room never waits, a busy one costs one write
per viewer per window). Each frame is encoded once and the same bytes are written to every
viewer it goes to, a slice of viewers at a time (fanout.py). Each viewer has a bounded queue
of its own, so a slow viewer never delays the others and is dropped when too far behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from stockkeeper.cancellation import stop_if_cancelled
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import PurchaseNotice

from ..loops import every
from ..redis_client import discover
from .bans import BanList
from .connection import BANNED_REASON, CLOSE_BANNED, CLOSE_TOO_SLOW, GOING_AWAY, Connection
from .events import KEEPALIVE_COVERS, RoomEvent, from_published
from .fanout import Room, Slice, views_for
from .keys import RoomKeys
from .pacing import FramePacer
from .presence import NoPresence, Presence, tell_entered, tell_left
from .publisher import RoomPublisher
from .settings import RoomSettings
from .stock_news import StockNews
from .subscriber import ShardedSubscriber, SubscriptionLost

log = logging.getLogger(__name__)


class RoomHub:
    """This process's viewers of every room, and the loops that keep them up to date.

    The hub is the stock keeper's listener (stockkeeper/listener.py): it notes offers whose
    stock changed and buyers' news as they happen, and publishes them on its own schedule.
    """

    def __init__(
        self,
        redis: Redis,
        publisher: RoomPublisher,
        keeper: StockKeeper,
        settings: RoomSettings,
        process_id: str,
    ) -> None:
        self.redis = redis
        self.publisher = publisher
        self.keeper = keeper
        self.settings = settings
        self.process_id = process_id
        #: Told, per slice written, the seconds from the oldest event's publication to now.
        self.on_fan_out: Callable[[float], None] = lambda seconds: None
        #: Told the seconds each round over a room's viewers took.
        self.on_round: Callable[[float], None] = lambda seconds: None
        self._rooms: dict[str, Room] = {}
        self._by_channel: dict[bytes, str] = {}
        self._pubsub = ShardedSubscriber(redis)
        self._subscriptions = asyncio.Lock()
        self._blocked: dict[str, tuple[float, set[str]]] = {}
        #: Banned viewers, for the calls that do not come over the room's socket.
        self.bans = BanList(redis)
        self._closing: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.Handle] = set()
        #: Noted by the keeper on the buy path, published by the stock loop.
        self.news = StockNews(redis, publisher, keeper, process_id)
        self.presence: Presence = NoPresence()  # told of viewers entering and leaving
        #: Set when something may need writing to viewers (an event, a newly seated viewer).
        self._news = asyncio.Event()

    # ---------------------------------------------------------------- stock listener

    def stock_changed(self, offer_id: str) -> None:
        """Publish the offer's stock at the stock loop's next turn."""
        self.news.stock_changed(offer_id)

    def purchase_news(self, notice: PurchaseNotice) -> None:
        """Send the buyer's screens this news at the stock loop's next turn."""
        self.news.purchase_news(notice)

    # ---------------------------------------------------------------- membership

    async def join(self, conn: Connection) -> None:
        """Add a viewer to its room, subscribing to the room's channel for the first."""
        async with self._subscriptions:
            room = self._rooms.get(conn.room_id)
            if room is None:
                room = self._rooms[conn.room_id] = Room(conn.room_id, self.settings.fan_out_slice)
                channel = RoomKeys(conn.room_id).channel
                await self._pubsub.subscribe(channel)
                self._by_channel[channel.encode()] = conn.room_id
            room.add(conn)
        # Whatever the room's history holds past the viewer's offset goes out at once.
        self._news.set()
        await tell_entered(self.presence, conn)

    async def leave(self, conn: Connection) -> None:
        """Remove a viewer, before any await (a caller cancelled meanwhile, as a handler
        whose client hung up can be, cannot leave it seated); the last one out unsubscribes."""
        room = self._rooms.get(conn.room_id)
        if room is not None:
            room.remove(conn)
        await tell_left(self.presence, conn)
        async with self._subscriptions:
            room = self._rooms.get(conn.room_id)
            if room is not None and not room.connections:
                del self._rooms[conn.room_id]
                channel = RoomKeys(conn.room_id).channel
                self._by_channel.pop(channel.encode(), None)
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    def announce_open_at(self, room_id: str, offer_id: str, opens_at_ms: int) -> None:
        """Publish ``offer_open`` when the countdown ends (viewers also count down to it)."""
        delay = max(0.0, opens_at_ms / 1000 - time.time())
        loop = asyncio.get_running_loop()

        # Kept only to cancel them at shutdown: a timer leaves the set when it fires, or the
        # set would grow by one with every launch for the life of the process. (uvloop
        # answers a zero delay with a plain Handle, which has no when() to sort them by.)
        def fire() -> None:
            self._timers.discard(handle)
            self._open_now(room_id, offer_id)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def _open_now(self, room_id: str, offer_id: str) -> None:
        task = asyncio.create_task(self._publish_open(room_id, offer_id))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _publish_open(self, room_id: str, offer_id: str) -> None:
        try:
            offer = await self.keeper.get_offer(offer_id)
            if offer.state == "open":
                await self.publisher.publish(
                    room_id, "offer_open", {"offer_id": offer_id, "closes_at_ms": offer.closes_at}
                )
        except Exception:
            log.exception("Could not announce that offer %s opened", offer_id)

    def connection_count(self) -> int:
        """Every viewer connection of this process, in all rooms."""
        return sum(len(room.connections) for room in self._rooms.values())

    def viewers(self, room_id: str) -> int:
        """This process's viewers of a room."""
        room = self._rooms.get(room_id)
        return room.audience() if room else 0

    def like(self, room_id: str) -> None:
        """Count a like, shared with the other processes at the next counts turn."""
        room = self._rooms.get(room_id)
        if room is not None:
            room.likes += 1

    async def blocked_words(self, room_id: str) -> set[str]:
        """The room's blocked words, cached for a few seconds (reloaded on change)."""
        cached = self._blocked.get(room_id)
        if cached is None or time.monotonic() - cached[0] > 5.0:
            cached = (time.monotonic(), await self.publisher.blocked_words(room_id))
            self._blocked[room_id] = cached
        return cached[1]

    async def close_all(self) -> None:
        """Shutting down: tell every viewer to reconnect elsewhere."""
        connections = [c for room in self._rooms.values() for c in room.connections]
        await asyncio.gather(
            *(c.close(GOING_AWAY, "server restarting, reconnect") for c in connections),
            return_exceptions=True,
        )

    # ---------------------------------------------------------------- running

    async def run(self) -> None:
        """Run every loop of the hub until cancelled. The loops stop together, also when
        one of them fails; its error is then raised."""
        loops: list[tuple[str, Callable[[], Awaitable[None]], float]] = [
            ("keepalive", self._keepalive_once, self.settings.keepalive_s),
            ("stock", self.news.publish_once, self.settings.stock_interval_s),
            ("counts", self._counts_once, self.settings.counts_interval_s),
        ]
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._read_forever(), name="room reader")
                group.create_task(self._flush_forever(), name="room flush")
                for name, step, period in loops:
                    group.create_task(every(f"Room {name} loop", step, period), name=f"room {name}")
        except BaseExceptionGroup as failed:
            # The loops retry every error they expect: one that escapes is a bug. Every one
            # is logged with its traceback; the first is raised as itself, not in a group.
            for error in failed.exceptions:
                log.error("A room loop failed", exc_info=error)
            raise failed.exceptions[0] from None
        finally:
            for timer in self._timers:
                timer.cancel()
            await self._pubsub.aclose()

    async def _read_forever(self) -> None:
        while True:
            stop_if_cancelled()
            try:
                if not self._by_channel:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(wait_s=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Whatever broke, go on: subscribe again (only a moved room's channel if so).
                if isinstance(exc, RedisError | OSError):
                    log.warning("Room channel lost (%s); viewers resume from history", exc)
                else:
                    log.exception("Room channel failed; reconnecting")
                only = exc.channel if isinstance(exc, SubscriptionLost) else None
                while True:
                    if only is None:
                        await asyncio.sleep(1.0)
                    try:
                        await self._resubscribe(only)
                        break
                    except (RedisError, OSError) as again:
                        log.warning("Room channels not subscribed again yet (%s)", again)
                        only = None  # start over on new connections
                continue
            if message is None:
                continue
            room_id = self._by_channel.get(message["channel"])
            room = self._rooms.get(room_id) if room_id else None
            if room is not None:
                try:
                    room.append(from_published(message["data"]))
                except (ValueError, KeyError, TypeError):
                    log.exception("Dropped an unreadable event on %s", message["channel"])
                else:
                    self._news.set()

    async def _resubscribe(self, only: str | None = None) -> None:
        """Every room's channel on new connections, or ``only`` the one Redis ended."""
        async with self._subscriptions:
            if only is None:
                await self._pubsub.aclose()
                self._pubsub = ShardedSubscriber(self.redis)
            # A cluster's shards may have moved: learn the slot map again.
            await discover(self.redis)
            rooms = [r for r in self._rooms.values() if only in (None, RoomKeys(r.room_id).channel)]
            for room in rooms:
                await self._pubsub.subscribe(RoomKeys(room.room_id).channel)
            # Events published meanwhile are in each room's history: its viewers resume.
            for room in rooms:
                for conn in list(room.connections):
                    self._drop(conn, CLOSE_TOO_SLOW, "connection to the room lost, resume")

    async def _flush_forever(self) -> None:
        """Write news to viewers as it comes, at the rooms' frame rate (pacing.py): at once
        while events are sparse, with whatever arrived meanwhile once they come faster."""
        pacer = FramePacer(self.settings.batch_window_s)
        while True:
            stop_if_cancelled()
            # A write at least once a second: nothing waits for ever on a missed signal.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._news.wait()
            wait = pacer.wait_s(time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            self._news.clear()
            pacer.started(time.monotonic())
            try:
                await self._flush_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Room flush failed; retrying")

    async def _flush_once(self) -> None:
        """Write to each slice of each room what it lacks, letting the loop run between
        slices (server/room/fanout.py)."""
        for room in list(self._rooms.values()):
            started, wrote, public = time.monotonic(), False, False
            for part in list(room.slices):
                if part.sent < room.read:
                    public = self._write(room, part) or public
                    wrote = True
                    await asyncio.sleep(0)
            if wrote:
                self.on_round(time.monotonic() - started)
            if public:
                room.written_at = time.monotonic()
            for event in room.trim():
                self._side_effects(room, event)

    def _write(self, room: Room, part: Slice) -> bool:
        """Write a slice what it lacks; whether that held a frame for everyone (not only
        some viewers' own news)."""
        due = room.take_due(part)
        oldest_ms = due.oldest_public_ms()
        if oldest_ms is not None:
            self.on_fan_out(max(0.0, time.time() - oldest_ms / 1000))
        views, covers, encoded = due.views, due.covers, due.encoded
        # Most writes find no newly seated viewer, and then no viewer's offset is looked at.
        fewer = part.still_lacking(due) if part.joined else {}
        for conn, events in fewer.items():
            own, own_covers = views_for(events, conn.user_id or "")
            if own and not conn.deliver(conn.encode(own), own, own_covers):
                self._drop(conn, CLOSE_TOO_SLOW, "too far behind, resume from last offset")
        for conn in list(part.connections.difference(fewer) if fewer else part.connections):
            if due.personal and conn.user_id in due.personal:
                # The viewer's own events (purchase results) go in offset order with the
                # room's, in a frame of its own.
                own, own_covers = views_for(due.events, conn.user_id or "")
                kept = conn.deliver(conn.encode(own), own, own_covers)
            elif views:
                data = encoded.get(conn.kind)
                if data is None:
                    data = encoded[conn.kind] = conn.encode(views)
                kept = conn.deliver(data, views, covers)
            else:
                continue
            if not kept:
                self._drop(conn, CLOSE_TOO_SLOW, "too far behind, resume from last offset")
        return bool(views)

    def _side_effects(self, room: Room, event: RoomEvent) -> None:
        """What an event changes here, once every viewer has been sent it."""
        if event.type == "user_banned":
            self.bans.banned(room.room_id, str(event.data.get("user_id")))
            for conn in list(room.connections):
                if conn.user_id == event.data.get("user_id"):
                    self._drop(conn, CLOSE_BANNED, BANNED_REASON)
        elif event.type == "blocked_words_changed":
            self._blocked.pop(room.room_id, None)

    def _drop(self, conn: Connection, code: int, reason: str) -> None:
        """Close a viewer's connection; it leaves the room now, whatever the close takes."""
        if conn.closed:
            return
        conn.closed = True
        room = self._rooms.get(conn.room_id)
        if room is not None:
            room.remove(conn)
        task = asyncio.create_task(conn.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _keepalive_once(self) -> None:
        """A keepalive to the viewers of every room that had nothing else to say lately.

        A busy room's frames keep its connections alive already, and a keepalive round there
        would be one more write per viewer: at 20,000 viewers a round takes about 200 ms,
        and every event arriving during it would wait twice as long. A room counts as busy
        when a frame for everyone went out in the last half period, so no viewer goes much
        longer than one and a half periods without a frame.
        """
        view = [{"type": "keepalive", "server_time_ms": int(time.time() * 1000)}]
        encoded: dict[str, bytes] = {}
        quiet_since = time.monotonic() - self.settings.keepalive_s / 2
        for room in list(self._rooms.values()):
            if room.written_at > quiet_since:
                continue
            for part in list(room.slices):
                for conn in list(part.connections):
                    data = encoded.get(conn.kind)
                    if data is None:
                        data = encoded[conn.kind] = conn.encode(view)
                    conn.deliver(data, [], KEEPALIVE_COVERS)
                await asyncio.sleep(0)

    async def _counts_once(self) -> None:
        """Share this process's viewers and likes; one process publishes the room's totals."""
        now_ms = int(time.time() * 1000)
        for room in list(self._rooms.values()):
            k = RoomKeys(room.room_id)
            likes, room.likes = room.likes, 0
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(k.viewers, self.process_id, f"{room.audience()}:{now_ms}")
            if likes:
                pipe.incrby(k.likes, likes)
            pipe.set(k.counts_tick, self.process_id, nx=True, px=900)
            won = (await pipe.execute())[-1]
            if not won:
                continue
            per_process, total_likes = await asyncio.gather(
                self.redis.hgetall(k.viewers), self.redis.get(k.likes)
            )
            viewers = live_viewers(cast(dict[bytes, bytes], per_process), now_ms)
            await asyncio.gather(
                self.redis.zadd(k.peak_viewers, {"viewers": viewers}, gt=True),
                self.publisher.publish(
                    room.room_id, "counts", {"viewers": viewers, "likes": int(total_likes or 0)}
                ),
            )


def live_viewers(per_process: Mapping[bytes, bytes] | Mapping[str, str], now_ms: int) -> int:
    """Viewers of a room across processes, from each process's "count:reported at" entry."""
    viewers = 0
    for value in per_process.values():
        text = value.decode() if isinstance(value, bytes) else value
        count, _, seen = text.partition(":")
        # A process that stopped reporting has stopped serving those viewers.
        if now_ms - int(seen) < 5000:
            viewers += int(count)
    return viewers
