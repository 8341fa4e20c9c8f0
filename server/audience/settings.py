"""Typed settings of the audience figures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AudienceSettings:
    """How watch time and the per-minute numbers are kept."""

    #: A viewer back within this many ms of their last connection closing continues the
    #: same visit (a reconnect, a page reload, a switch from Wi-Fi to mobile data).
    reconnect_gap_ms: int = 30_000
    #: How often a process with viewers of a live room samples its numbers per minute.
    sample_interval_s: float = 5.0
