"""When a room's next frame may go out: at once while events are sparse, batched as they
come faster than the frame rate.

A fixed "one frame per window" rule, applied from the previous write, locks onto the
latest event ever seen: once one event of a steady 20-a-second stream arrives 20 ms late,
every later one waits those 20 ms too, and a quiet room pays for a hiccup for ever. So the
rule is a token bucket instead (the generic cell rate algorithm): frames go out at
``1 / window_s`` a second on average, and a burst of ``burst`` frames passes without
waiting. Jitter and a late event are absorbed by the burst; only a stream that stays
faster than the rate is held back, and then each frame carries every event that came
meanwhile. A round over a big room that takes longer than the window batches by itself:
events arriving during it go out together in the next one.
"""

from __future__ import annotations

import math


class FramePacer:
    """How long a room's next round must wait to keep its frame rate."""

    __slots__ = ("_due", "_tolerance", "window_s")

    def __init__(self, window_s: float, burst: int = 3) -> None:
        if window_s < 0 or burst < 1:
            raise ValueError("the window must be >= 0 and the burst >= 1")
        self.window_s = window_s
        self._tolerance = (burst - 1) * window_s
        # When the next frame would go out if frames went out at exactly the rate.
        self._due = -math.inf

    def wait_s(self, now: float) -> float:
        """Seconds to wait before the next round may start (0: at once)."""
        return max(0.0, self._due - self._tolerance - now)

    def started(self, now: float) -> None:
        """A round started at ``now``."""
        self._due = max(self._due, now) + self.window_s
