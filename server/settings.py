"""Typed settings of the server and of its command line, read from the environment.

Every ``LIVESALE_*`` variable is read here or in ``stockkeeper/settings.py``, nowhere else.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stockkeeper.settings import StockSettings

from .audience.settings import AudienceSettings
from .giveaways.settings import DEFAULT_RESULTS_TOPIC, GiveawaySettings
from .hosts.login_guard import LoginLimits
from .room.settings import RoomSettings
from .shows.settings import ScheduleSettings


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed settings of the server, read from LIVESALE_* variables by from_env only."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: Signs viewer tokens (HMAC-SHA256). Every process of one deployment needs the same.
    viewer_token_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: Signs host session cookies. Every process of one deployment needs the same.
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: Whether the two secrets came from the environment (else made up for this run).
    viewer_secret_set: bool = False
    session_secret_set: bool = False
    session_ttl_s: int = 12 * 3600
    #: Mark cookies Secure (HTTPS only): on in production, off for http://127.0.0.1.
    secure_cookies: bool = False
    #: Let the demo viewer page mint viewer tokens for any nickname. Only for trying the
    #: product out: in production an identity service mints viewer tokens.
    demo_viewer_tokens: bool = False
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    #: Where Prometheus scrapes ``/metrics``: an address of its own, never the service's
    #: port. None (LIVESALE_METRICS_PORT unset) serves no metrics.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    max_body_bytes: int = 64 * 1024
    run_sweeper: bool = True
    run_relay: bool = True
    relay_name: str = "relay-1"
    #: Kafka topic of stock warning lines crossed (server/warning_lines/).
    stock_warnings_topic: str = "stock.warnings"
    #: Fulfilment's status events (my orders, tracking), read in this consumer group by
    #: every server process. Off unless set: ``from_env`` (``livesale serve``) turns it on.
    order_status_topic: str = "orders.status"
    order_status_group: str = "livesale-order-status"
    consume_order_status: bool = False
    stock: StockSettings = field(default_factory=StockSettings)
    room: RoomSettings = field(default_factory=RoomSettings)
    audience: AudienceSettings = field(default_factory=AudienceSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    giveaways: GiveawaySettings = field(default_factory=GiveawaySettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``LIVESALE_*`` variables; anything unset keeps its default."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            host=env.get("LIVESALE_HOST", defaults.host),
            port=int(env.get("LIVESALE_PORT", defaults.port)),
            viewer_token_secret=env.get("LIVESALE_VIEWER_SECRET", defaults.viewer_token_secret),
            session_secret=env.get("LIVESALE_SESSION_SECRET", defaults.session_secret),
            viewer_secret_set="LIVESALE_VIEWER_SECRET" in env,
            session_secret_set="LIVESALE_SESSION_SECRET" in env,
            session_ttl_s=int(env.get("LIVESALE_SESSION_TTL_S", defaults.session_ttl_s)),
            secure_cookies=env.get("LIVESALE_SECURE_COOKIES", "0") == "1",
            demo_viewer_tokens=env.get("LIVESALE_DEMO_VIEWER_TOKENS", "0") == "1",
            metrics_host=env.get("LIVESALE_METRICS_HOST", defaults.metrics_host),
            metrics_port=_metrics_port(env),
            run_sweeper=env.get("LIVESALE_RUN_SWEEPER", "1") != "0",
            run_relay=env.get("LIVESALE_RUN_RELAY", "1") != "0",
            relay_name=env.get("LIVESALE_RELAY_NAME", defaults.relay_name),
            stock_warnings_topic=env.get(
                "LIVESALE_STOCK_WARNINGS_TOPIC", defaults.stock_warnings_topic
            ),
            order_status_topic=env.get("LIVESALE_ORDER_STATUS_TOPIC", defaults.order_status_topic),
            order_status_group=env.get("LIVESALE_ORDER_STATUS_GROUP", defaults.order_status_group),
            consume_order_status=env.get("LIVESALE_CONSUME_ORDER_STATUS", "1") != "0",
            stock=StockSettings.from_env(env),
            room=RoomSettings(
                allowed_origins=tuple(
                    o for o in env.get("LIVESALE_ALLOWED_ORIGINS", "").split(",") if o
                ),
                heartbeat_s=float(env.get("LIVESALE_WS_HEARTBEAT_S", defaults.room.heartbeat_s)),
                batch_window_s=float(
                    env.get("LIVESALE_ROOM_BATCH_MS", defaults.room.batch_window_s * 1000)
                )
                / 1000,
            ),
            audience=AudienceSettings(
                reconnect_gap_ms=int(float(env.get("LIVESALE_WATCH_GAP_S", "30")) * 1000),
            ),
            schedule=_schedule(env),
            giveaways=GiveawaySettings(
                claim_window_s=int(env.get("LIVESALE_GIVEAWAY_CLAIM_WINDOW_S", 48 * 3600)),
                results_topic=env.get("LIVESALE_GIVEAWAYS_TOPIC", DEFAULT_RESULTS_TOPIC),
            ),
        )


def _schedule(env: Mapping[str, str]) -> ScheduleSettings:
    """Reminders and video: LIVESALE_REMINDER_LEAD_S, LIVESALE_REMINDERS_TOPIC,
    LIVESALE_MEDIA_ORIGINS (comma-separated origins, checked) and LIVESALE_MEDIA_DIR."""
    d = ScheduleSettings()
    origins = tuple(o.strip().rstrip("/") for o in env.get("LIVESALE_MEDIA_ORIGINS", "").split(","))
    for origin in origins:
        if origin and not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"LIVESALE_MEDIA_ORIGINS: {origin!r} is not an origin like https://cdn.example.com"
            )
    media_dir = env.get("LIVESALE_MEDIA_DIR", "")
    return ScheduleSettings(
        reminder_lead_s=int(env.get("LIVESALE_REMINDER_LEAD_S", d.reminder_lead_s)),
        reminders_topic=env.get("LIVESALE_REMINDERS_TOPIC", d.reminders_topic),
        media_origins=tuple(o for o in origins if o),
        media_dir=Path(media_dir).expanduser() if media_dir else None,
    )


#: A browser origin: scheme, host and an optional port, nothing else (it goes into the CSP).
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _metrics_port(env: Mapping[str, str]) -> int | None:
    """LIVESALE_METRICS_PORT; worker i of ``serve --workers N`` (LIVESALE_WORKER, set by the
    supervisor) takes that port + i, so that each worker's own figures can be scraped."""
    port = env.get("LIVESALE_METRICS_PORT", "")
    if not port:
        return None
    return int(port) + int(env.get("LIVESALE_WORKER", "0"))


@dataclass(frozen=True, slots=True)
class CommandSettings:
    """What the ``livesale`` command itself takes from the environment."""

    log_level: str = "INFO"
    #: Server processes ``serve`` starts on one port; ``--workers`` overrides it.
    workers: int = 1
    #: The password ``host create|password`` sets, for automation; asked for when unset.
    host_password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CommandSettings:
        """Read ``LIVESALE_LOG_LEVEL``, ``LIVESALE_WORKERS`` and ``LIVESALE_HOST_PASSWORD``."""
        env = os.environ if env is None else env
        d = cls()
        return cls(
            log_level=env.get("LIVESALE_LOG_LEVEL", d.log_level),
            workers=int(env.get("LIVESALE_WORKERS", d.workers)),
            host_password=env.get("LIVESALE_HOST_PASSWORD"),
        )
