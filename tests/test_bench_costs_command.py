"""The in-process cost benchmark (``livesale-bench costs``) runs end to end on a few
requests: every case answers as it should and the figures it prints are all there. This
checks that the command is truthful, not how fast anything is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

CASES = {
    "bare_hello_world",
    "bare_same_request",
    "bare_waiting",
    "bare_reserving",
    "hello_world",
    "sold_out",
    "sold_out_without_replay_lookup",
    "reservation",
    "reservation_without_buyer_record",
    "keeper_sold_out",
    "keeper_reservation",
    "tasks_alone",
}


@pytest.mark.timeout(300)
def test_a_short_cost_run_measures_every_case_and_checks_the_units_held(tmp_path: Path) -> None:
    out = tmp_path / "costs.json"
    command = [sys.executable, "-c", "from loadtests.cli import main; main()", "costs"]
    options = ["--requests", "640", "--rounds", "1", "--connections", "32", "--out", str(out)]
    done = subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=280, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = orjson.loads(out.read_bytes())
    assert set(report["cpu_us_per_request"]) == CASES
    assert all(cost > 0 for cost in report["cpu_us_per_request"].values())
    assert report["problems"] == []
    # Every reservation the HTTP and keeper-alone cases answered is a unit held in Redis.
    reserved = sum(
        report["statuses"][name].get("201", 0)
        for name in (
            "bare_reserving",
            "reservation",
            "reservation_without_buyer_record",
            "keeper_reservation",
        )
    )
    assert reserved == report["units_held_by_reservation_case"] > 0
    assert report["statuses"]["keeper_sold_out"] == {"409": 32 * 40}
    # The floor that waits for Redis answered every request (after its round trip).
    assert report["statuses"]["bare_waiting"] == {"409": 32 * 40}
    # The floor that reserves made a hold for every request.
    assert report["statuses"]["bare_reserving"] == {"201": 32 * 40}
    ratios = report["ratios"]
    assert {"keeper_sold_out_vs_floor", "keeper_reservation_vs_hello_world"} <= set(ratios)
    assert "The stock keeper alone" in done.stdout
    # Round trips are counted per press: presses answered together share one (here 32 at a
    # time: at least 3.1 per 100 presses, the buyer records' passes on top), never one each.
    sent = report["redis_per_100_presses"]
    assert set(sent) == {"sold_out", "reservation", "keeper_sold_out", "keeper_reservation"}
    for name, counted in sent.items():
        assert 3 <= counted["round_trips"] <= 25, (name, counted)
        assert counted["round_trips"] <= counted["calls"], (name, counted)
    assert "Redis round trips / script calls per 100 presses" in done.stdout
    # How much of the wall time each case kept the process busy (the rest: it waited).
    busy = report["busy_share"]
    assert set(busy) == CASES
    assert all(0 < share <= 1.1 for share in busy.values()), busy
    assert "Busy share of the wall time" in done.stdout


@pytest.mark.timeout(400)
def test_counting_instructions_runs_every_case_under_callgrind(tmp_path: Path) -> None:
    """``--count instructions`` measures the same cases in instructions executed (Valgrind's
    callgrind counting only the measured requests), with the same checks of the answers."""
    out = tmp_path / "instructions.json"
    command = [sys.executable, "-c", "from loadtests.cli import main; main()", "costs"]
    options = ["--requests", "128", "--rounds", "1", "--connections", "32", "--out", str(out)]
    done = subprocess.run(
        [*command, *options, "--count", "instructions"],
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = orjson.loads(out.read_bytes())
    assert report["unit"] == "instructions"
    assert report["busy_share"] == {}  # under callgrind, waits say nothing
    assert "cpu_us_per_request" not in report
    counted = report["instructions_per_request"]
    assert set(counted) == CASES
    assert report["problems"] == []
    # Whole requests were counted, not a slice of one, nor the uncounted warm-up as well:
    # aiohttp alone executes tens of thousands of instructions a request, and a press
    # that reserves does more than aiohttp's answer to the same request.
    assert 20_000 < counted["bare_same_request"] < counted["reservation"] < 5_000_000
    assert counted["tasks_alone"] < counted["keeper_reservation"]
    # Waiting for Redis costs instructions of its own (a suspended task woken again).
    assert counted["bare_same_request"] < counted["bare_waiting"] < counted["sold_out"]
    # The service's press does more than the floor's script call and answer.
    assert counted["bare_waiting"] < counted["bare_reserving"] < counted["reservation"]
    assert "Instructions the server executed (callgrind) per request" in done.stdout
    assert "Instructions against aiohttp's own handling of the same POST" in done.stdout
