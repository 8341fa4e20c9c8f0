"""Every Redis key of a show's goals. They share the room's hash tag ``{room:ID}``, so the
script that records a tier as reached also appends the room event saying so, in one step."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ls"

#: Set: rooms whose goals every process watches (until all are reached or the show ends).
WATCHED = f"{PREFIX}:goals:rooms"


@dataclass(frozen=True, slots=True)
class GoalKeys:
    """Every Redis key of one show's goals."""

    room_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{room:{self.room_id}}}:goals"

    @property
    def goals(self) -> str:
        """Hash: ``ladder`` (JSON: metric, currency, tiers), ``metric_key``, ``version``."""
        return self._base

    @property
    def reached(self) -> str:
        """Hash: threshold -> JSON of the tier as it was reached (value, reward, reward id)."""
        return f"{self._base}:reached"

    @property
    def status(self) -> str:
        """Hash: threshold -> ``pending`` (its reward being started), ``started``, ``failed``."""
        return f"{self._base}:status"

    @property
    def lease(self) -> str:
        """Hash: threshold -> until when (epoch ms) the process starting its reward has it;
        ``<threshold>:attempts`` -> how many starts were tried."""
        return f"{self._base}:lease"

    @property
    def progress_tick(self) -> str:
        """Who publishes this show's progress in this short period (SET NX PX)."""
        return f"{self._base}:progress-tick"

    @property
    def progress(self) -> str:
        """String: the last total published as progress."""
        return f"{self._base}:progress"
