"""Every typed key stored on the aiohttp application."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper

from .audience.numbers import MinuteNumbers
from .audience.watch_time import WatchTime
from .coupons.checkout import Checkout
from .coupons.store import CouponStore
from .giveaways.drawing import Drawing
from .giveaways.service import Giveaways
from .goals.goals import Goals
from .goals.rewards import GoalRewards
from .hosts.accounts import HostAccounts
from .hosts.login_guard import LoginGuard
from .hosts.sessions import Sessions
from .lineup import Lineup
from .metrics import Metrics
from .orders.ledger import Ledger
from .polls.polls import Polls
from .questions.questions import Questions
from .room.hub import RoomHub
from .room.publisher import RoomPublisher
from .settings import Settings
from .shows.audit import AuditLog
from .shows.reminders import Reminders
from .shows.report_sections import ReportSections
from .shows.schedule import ShowSchedule
from .shows.store import ShowStore
from .shows.team import Team
from .tokens import ViewerTokens
from .warning_lines.watcher import WarningWatcher

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
KEEPER = web.AppKey("keeper", StockKeeper)
VIEWER_TOKENS = web.AppKey("viewer_tokens", ViewerTokens)
ROOM_PUBLISHER = web.AppKey("room_publisher", RoomPublisher)
ROOM_HUB = web.AppKey("room_hub", RoomHub)
LINEUP = web.AppKey("lineup", Lineup)
HOST_ACCOUNTS = web.AppKey("host_accounts", HostAccounts)
SESSIONS = web.AppKey("sessions", Sessions)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
SHOWS = web.AppKey("shows", ShowStore)
METRICS = web.AppKey("metrics", Metrics)
REPORT_SECTIONS = web.AppKey("report_sections", ReportSections)
GOAL_REWARDS = web.AppKey("goal_rewards", GoalRewards)
WATCH_TIME = web.AppKey("watch_time", WatchTime)
REMINDERS = web.AppKey("reminders", Reminders)
SHOW_SCHEDULE = web.AppKey("show_schedule", ShowSchedule)
POLLS = web.AppKey("polls", Polls)
GOALS = web.AppKey("goals", Goals)
QUESTIONS = web.AppKey("questions", Questions)
# My orders (issue 16)
ORDERS = web.AppKey("orders", Ledger)
TEAM = web.AppKey("team", Team)
AUDIT_LOG = web.AppKey("audit_log", AuditLog)
# Giveaways (server/giveaways/)
GIVEAWAYS = web.AppKey("giveaways", Giveaways)
GIVEAWAY_DRAWING = web.AppKey("giveaway_drawing", Drawing)
# Coupons and red packets (server/coupons/)
COUPONS = web.AppKey("coupons", CouponStore)
CHECKOUT = web.AppKey("checkout", Checkout)
MINUTE_NUMBERS = web.AppKey("minute_numbers", MinuteNumbers)
WARNING_WATCHER = web.AppKey("warning_watcher", WarningWatcher)
