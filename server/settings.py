"""Typed settings of the server, read from the environment by the command line only."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from stockkeeper.settings import StockSettings

from .room.settings import RoomSettings


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    #: Signs viewer tokens (HMAC-SHA256). Every process of one deployment needs the same.
    viewer_token_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: Bearer token for host endpoints until host accounts exist.
    host_api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    max_body_bytes: int = 64 * 1024
    run_sweeper: bool = True
    run_relay: bool = True
    relay_name: str = "relay-1"
    stock: StockSettings = field(default_factory=StockSettings)
    room: RoomSettings = field(default_factory=RoomSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``LIVESALE_*`` variables; anything unset keeps its default."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            host=env.get("LIVESALE_HOST", defaults.host),
            port=int(env.get("LIVESALE_PORT", defaults.port)),
            viewer_token_secret=env.get("LIVESALE_VIEWER_SECRET", defaults.viewer_token_secret),
            host_api_token=env.get("LIVESALE_HOST_TOKEN", defaults.host_api_token),
            run_sweeper=env.get("LIVESALE_RUN_SWEEPER", "1") != "0",
            run_relay=env.get("LIVESALE_RUN_RELAY", "1") != "0",
            relay_name=env.get("LIVESALE_RELAY_NAME", defaults.relay_name),
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
        )
