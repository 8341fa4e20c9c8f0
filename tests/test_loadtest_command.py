"""``livesale-bench loadtest`` runs every Locust scenario and writes a whole report.

A small run: this checks that the scenarios work and the report is complete and truthful
(its sale invariants are measured in Redis and Kafka), not how fast anything is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest


@pytest.mark.timeout(300)
def test_a_small_load_test_writes_csv_html_plots_and_passing_checks(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-c",
        "from loadtests.cli import main; main()",
        "loadtest",
        "--flash-users",
        "30",
        "--room-users",
        "20",
        "--host-room-users",
        "10",
        "--seconds",
        "10",
        "--ramp-seconds",
        "2",
        "--lean-seconds",
        "1",
        "--lean-concurrency",
        "8",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [report] = tmp_path.iterdir()
    summary = orjson.loads((report / "summary.json").read_bytes())
    assert summary["machine"]["cores"] >= 1
    assert [run["scenario"] for run in summary["runs"]] == [
        "flash_sale",
        "live_room",
        "host_console",
    ]

    rush = summary["runs"][0]
    checks = rush["checks"]
    assert checks["passed"] is True
    assert checks["no_unit_oversold"]
    assert checks["nobody_over_the_limit"]
    assert checks["orders_in_kafka"] == checks["confirmed_orders"] > 0
    outcomes = summary["headline"]["flash_sale@30"]["outcomes"]
    assert outcomes["reserved"] > 0
    assert outcomes.get("sold_out", 0) > 0  # 30 buyers for 10 units

    room = summary["runs"][1]["stats"]
    assert room["WS push counts"]["requests"] > 0  # push latency is in Locust's statistics
    assert room["CONNECT join room"]["failures"] == 0
    host = summary["runs"][2]["stats"]
    assert any(name.startswith("POST host:") for name in host)

    for run in summary["runs"]:
        for file in run["files"].values():
            assert (report / file).stat().st_size > 0, file
        assert run["bottleneck"]
    assert summary["lean"]["requests"] > 0
    assert summary["lean"]["tool"].startswith("lean asyncio")
