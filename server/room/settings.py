"""Typed settings of live rooms."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """Typed settings of the live rooms."""

    #: Events kept per room for viewers who reconnect; older ones get a snapshot instead.
    history_length: int = 2000
    #: A room's frames go out at most one per window on average (bursts of 3 pass at
    #: once); events coming faster share frames (server/room/pacing.py).
    batch_window_s: float = 0.04
    #: Viewers written to between two turns of the event loop (about 5 ms of sends).
    fan_out_slice: int = 500
    #: A viewer whose unsent frames pass either bound is disconnected (close code 4001).
    max_queued_frames: int = 400
    max_queued_bytes: int = 1024 * 1024
    max_message_bytes: int = 4096
    heartbeat_s: float = 20.0
    keepalive_s: float = 15.0
    chat_max_chars: int = 200
    chat_min_interval_ms: int = 1000
    likes_per_second: int = 10
    stock_interval_s: float = 0.25
    counts_interval_s: float = 1.0
    #: Browser origins allowed to open a room socket besides the server's own host.
    allowed_origins: tuple[str, ...] = ()
