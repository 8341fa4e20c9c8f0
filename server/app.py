"""The application factory: wires settings, clients, background tasks and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from stockkeeper.keeper import StockKeeper
from stockkeeper.listener import NoListener
from stockkeeper.relay import OutboxRelay
from stockkeeper.stock_events import watch_stock
from stockkeeper.sweeper import run_sweeper

from .api import (
    api_docs,
    coupons,
    demo,
    giveaways,
    goals,
    groups,
    health,
    host_auth,
    media,
    my_orders,
    numbers,
    offers,
    pages,
    polls,
    purchase,
    questions,
    reconcile,
    room,
    room_host,
    schedule,
    shows,
    team,
    warning_lines,
)
from .api.routing import Routes
from .appkeys import (
    GOAL_REWARDS,
    HOST_ACCOUNTS,
    KEEPER,
    LINEUP,
    LOGIN_GUARD,
    METRICS,
    REDIS,
    REMINDERS,
    REPORT_SECTIONS,
    ROOM_HUB,
    ROOM_PUBLISHER,
    SESSIONS,
    SETTINGS,
    SHOW_SCHEDULE,
    SHOWS,
    VIEWER_TOKENS,
    WATCH_TIME,
)
from .audience.context import audience_ctx
from .audience.watch_time import WatchTime
from .coupons.context import coupons_ctx
from .engage import engage_ctx
from .giveaways.context import giveaways_ctx
from .goals.rewards import GoalRewards
from .group_buying import groups_ctx
from .hosts.accounts import HostAccounts
from .hosts.login_guard import LoginGuard
from .hosts.sessions import Sessions
from .lineup import Lineup
from .metrics import Metrics, watch_outbox
from .orders.context import orders_ctx
from .redis_client import connect, discover
from .room.hub import RoomHub
from .room.publisher import RoomPublisher
from .settings import Settings
from .shows.reminders import Reminders
from .shows.report_sections import ReportSections
from .shows.schedule import ShowSchedule
from .shows.store import ShowStore
from .shows.team_context import team_ctx
from .tokens import ViewerTokens
from .warning_lines.context import warning_lines_ctx

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    """The application: settings, clients and background tasks, and every route."""
    metrics = Metrics()
    # No middleware: every route answers its errors and counts its answers itself
    # (server/api/routing.py).
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[VIEWER_TOKENS] = ViewerTokens(settings.viewer_token_secret)
    app[REPORT_SECTIONS] = ReportSections()
    app[GOAL_REWARDS] = GoalRewards()
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(keeper_ctx)
    app.cleanup_ctx.append(hosts_ctx)
    app.cleanup_ctx.append(team_ctx)  # teams and audit lists: after the shows
    app.cleanup_ctx.append(schedule_ctx)
    # The rooms before the sweeper: news of holds expiring at start-up reaches the buyers.
    app.cleanup_ctx.append(rooms_ctx)
    app.cleanup_ctx.append(audience_ctx)  # per-minute numbers: after the rooms
    app.cleanup_ctx.append(warning_lines_ctx)  # beside the hub as a stock listener
    app.cleanup_ctx.append(orders_ctx)  # my orders and tracking: after the rooms
    app.cleanup_ctx.append(engage_ctx)  # polls, questions, goals: after the rooms
    app.cleanup_ctx.append(giveaways_ctx)  # after the rooms: their publisher, watch time
    app.cleanup_ctx.append(coupons_ctx)  # drops, rains, checkout: after the rooms
    app.cleanup_ctx.append(groups_ctx)  # group buying: after the rooms
    if settings.metrics_port is not None:
        app.cleanup_ctx.append(health.metrics_listener)
    if settings.run_sweeper:
        app.cleanup_ctx.append(sweeper_ctx)
    if settings.run_relay:
        app.cleanup_ctx.append(relay_ctx)
    app.on_shutdown.append(close_room_sockets)
    # aiohttp tries routes in order: the buy button's route goes first.
    purchase.add_routes(app)
    offers.add_routes(app)
    room.add_routes(app)
    room_host.add_routes(app)
    host_auth.add_routes(app)
    shows.add_routes(app)
    demo.add_routes(app)
    health.add_routes(app)
    pages.add_routes(app)
    api_docs.add_routes(app)
    my_orders.add_routes(app)
    schedule.add_routes(app)
    media.add_routes(app)
    polls.add_routes(app)
    goals.add_routes(app)
    questions.add_routes(app)
    team.add_routes(app)
    numbers.add_routes(app)
    warning_lines.add_routes(app)
    reconcile.add_routes(app)
    giveaways.add_routes(app)
    coupons.add_routes(app)
    groups.add_routes(app)
    Routes(app).unmatched()  # last: every address the routes above do not take
    return app


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """The Redis client, for the app's life."""
    redis = connect(app[SETTINGS].stock.redis_url)
    app[REDIS] = redis
    yield
    await redis.aclose()


async def keeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """The stock keeper and its stock watcher."""
    keeper = StockKeeper(app[REDIS], app[SETTINGS].stock)
    await keeper.start()
    app[KEEPER] = keeper
    async with background(watch_stock(keeper), "stock watcher"):
        yield
    await keeper.close()


async def hosts_ctx(app: web.Application) -> AsyncIterator[None]:
    """Host accounts, sessions, the login guard and shows."""
    settings, redis = app[SETTINGS], app[REDIS]
    app[HOST_ACCOUNTS] = accounts = HostAccounts(redis)
    app[SESSIONS] = Sessions(redis, settings.session_secret, settings.session_ttl_s)
    app[LOGIN_GUARD] = LoginGuard(redis, settings.login_limits)
    app[SHOWS] = ShowStore(redis)
    with contextlib.suppress(RedisError):
        if await accounts.count() == 0:
            log.warning(
                "No host account yet: create one with `.venv/bin/livesale host create NAME`, "
                "then log in at /console"
            )
    yield


async def schedule_ctx(app: web.Application) -> AsyncIterator[None]:
    """Shows' schedule and reminders, with the task every process runs to send due ones."""
    reminders = Reminders(app[REDIS], app[SETTINGS].schedule)
    app[REMINDERS] = reminders
    app[SHOW_SCHEDULE] = show_schedule = ShowSchedule(app[REDIS], app[SHOWS], reminders)
    app[REPORT_SECTIONS].add("reminders", show_schedule.report)
    async with background(reminders.run(), "reminder sender"):
        yield


async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """The hold sweeper: expired holds give their units back."""
    async with background(run_sweeper(app[KEEPER]), "hold sweeper"):
        yield


async def relay_ctx(app: web.Application) -> AsyncIterator[None]:
    """The outbox relay: stock events to Kafka."""
    settings = app[SETTINGS]
    relay = OutboxRelay(app[REDIS], settings.stock, settings.relay_name)
    relay.on_sent = app[METRICS].kafka_batch
    async with background(relay.run(), "outbox relay"):
        yield


async def rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    """The room publisher, hub and line-up, with the hub's loops."""
    settings = app[SETTINGS]
    # Room events are msgpack: this client returns bytes.
    redis = connect(settings.stock.redis_url, decode=False)
    publisher = RoomPublisher(redis, settings.room)
    with contextlib.suppress(RedisError, OSError):
        await discover(redis)  # a Redis down at start is met by the hub's own reconnects
        await publisher.scripts.preload(redis)
    hub = RoomHub(redis, publisher, app[KEEPER], settings.room, process_id())
    app[KEEPER].listener = hub  # stock changes and purchase news become room events
    app[ROOM_PUBLISHER] = publisher
    app[ROOM_HUB] = hub
    app[LINEUP] = Lineup(app[KEEPER], publisher, hub)
    app[WATCH_TIME] = hub.presence = WatchTime(app[REDIS], settings.audience)
    metrics = app[METRICS]
    hub.on_fan_out = metrics.fanout_lag.observe
    hub.on_round = metrics.fanout_round.observe
    metrics.connections.set_function(hub.connection_count)
    async with (
        background(hub.run(), "room hub"),
        background(watch_outbox(metrics, app[REDIS]), "outbox depth"),
    ):
        yield
    # Nothing drains the hub's notes any more: the keeper stops keeping them.
    app[KEEPER].listener = NoListener()
    await redis.aclose()


async def close_room_sockets(app: web.Application) -> None:
    """On shutdown, viewers are told to reconnect (to another server)."""
    await app[ROOM_HUB].close_all()


def process_id() -> str:
    """An opaque name for this server process, random per start (8 hex digits): viewers see
    it in ``hello``, so it says nothing of the machine; the log line at start maps it."""
    worker_id = secrets.token_hex(4)
    log.info("Worker id %s is process %d on %s", worker_id, os.getpid(), socket.gethostname())
    return worker_id


@contextlib.asynccontextmanager
async def background(coro: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``coro`` while the block runs; cancel it and wait for it afterwards. A task
    that dies early is logged at once, not only when the app stops."""
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_log_if_failed)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.debug("Stopped the %s", name)


def _log_if_failed(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("The %s stopped with an error", task.get_name(), exc_info=error)
