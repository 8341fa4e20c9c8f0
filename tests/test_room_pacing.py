"""The rooms' frame pacing: sparse events go out at once, a faster stream is batched."""

from __future__ import annotations

import itertools

import pytest

from server.room.pacing import FramePacer

WINDOW = 0.05


def run(arrivals: list[float], burst: int = 3) -> list[float]:
    """When each round starts, for events arriving at these times (one round per event,
    as the hub does when each round is short)."""
    pacer, starts = FramePacer(WINDOW, burst), []
    for at in arrivals:
        start = at + pacer.wait_s(at)
        pacer.started(start)
        starts.append(start)
    return starts


def test_events_sparser_than_the_window_never_wait() -> None:
    arrivals = [i * 0.08 for i in range(100)]
    assert run(arrivals) == arrivals


def test_a_steady_stream_at_the_rate_does_not_inherit_one_late_event() -> None:
    """At 20 events/s, one event 20 ms late; with the old rule (one frame per window after
    the last) every later event waited 20 ms."""
    arrivals = [i * WINDOW for i in range(200)]
    arrivals[10] += 0.02
    starts = run(arrivals)
    assert all(start == at for start, at in zip(starts, arrivals, strict=True))


def test_jitter_around_the_rate_is_absorbed() -> None:
    offsets = [0.004, -0.003, 0.009, -0.006, 0.0, 0.012, -0.008, 0.003] * 25
    arrivals = [i * WINDOW + jitter for i, jitter in enumerate(offsets)]
    starts = run(arrivals)
    assert max(s - a for s, a in zip(starts, arrivals, strict=True)) == pytest.approx(0.0)


def test_a_faster_stream_goes_out_at_one_frame_per_window_after_the_burst() -> None:
    arrivals = [i * 0.005 for i in range(200)]  # 200 events/s
    starts = run(arrivals)
    assert starts[:3] == arrivals[:3]  # the burst
    gaps = [b - a for a, b in itertools.pairwise(starts[3:])]
    assert min(gaps) == pytest.approx(WINDOW)


def test_a_burst_of_one_is_a_plain_minimum_gap() -> None:
    starts = run([0.0, 0.01, 0.02], burst=1)
    assert starts == pytest.approx([0.0, 0.05, 0.10])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="window must be >= 0"):
        FramePacer(-1.0)
    with pytest.raises(ValueError, match="burst >= 1"):
        FramePacer(0.05, burst=0)
