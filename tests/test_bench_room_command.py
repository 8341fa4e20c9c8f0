"""The live-room benchmark command (``livesale-bench room``) runs end to end on a small room.

This checks that its clients and report are truthful (every event counted, every viewer
held, presses answered over the sockets), not how fast anything is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest


@pytest.mark.timeout(300)
def test_a_small_room_benchmark_counts_every_event_and_answers_every_press(
    tmp_path: Path,
) -> None:
    out = tmp_path / "room.json"
    command = [
        sys.executable,
        "-c",
        "from loadtests.cli import main; main()",
        "room",
        *("--viewers", "300", "--rate", "10", "--seconds", "1", "--rounds", "1"),
        *("--buyers", "4", "--window", "4", "--out", str(out)),
    ]
    subprocess.run(command, check=True, timeout=280)
    report = orjson.loads(out.read_bytes())

    broadcast = report["broadcast"]
    # 6 timed viewers (1 in 50) read as frames arrive; the other 294 in sweeps elsewhere.
    assert (broadcast["viewers_timed"], broadcast["viewers_reading"]) == (6, "sweeps")
    assert broadcast["connections_opened"] == broadcast["connections_held"] == 300
    assert broadcast["events_published"] >= 5
    assert broadcast["events_delivered"] == broadcast["expected_deliveries"]
    assert broadcast["latency_samples"] == 6 * broadcast["events_published"]
    assert broadcast["fan_out_rounds"] >= 1
    buying = report["socket_buying"]
    assert buying["reservations_per_s"] > 0
    assert buying["http_hello_world_per_s"] > 0
    assert buying["cpu_ratio"] > 0
    # Pings: the least a socket message costs, beside the presses in every round.
    [pings] = buying["all_rounds"]["socket_pings"]
    assert pings["answers"] > 0
    assert pings["server_cpu_us_per_ping"] > 0
    assert buying["ping_cpu_ratio"] > 0
