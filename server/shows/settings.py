"""Typed settings of shows' schedules, reminders and video (read by server/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """Reminders and the video stage."""

    #: How long before an announced start the 'soon' reminder goes.
    reminder_lead_s: int = 15 * 60
    #: The Kafka topic of reminders, for the operator's notification service.
    reminders_topic: str = "shows.reminders"
    #: How often each process looks for reminders that are due.
    reminder_poll_s: float = 1.0
    #: Reminders one script call writes to the outbox (then the next call goes on).
    reminder_batch: int = 500
    #: Origins (``https://media.example.com``) the pages may play video from, besides the
    #: server itself.
    media_origins: tuple[str, ...] = ()
    #: A folder served at ``/media/`` (the local test stream of ``livesale stream``); None
    #: serves nothing there.
    media_dir: Path | None = None
