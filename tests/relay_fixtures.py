"""Fixtures of the relay tests (tests/test_relay_*.py load them with ``pytest_plugins``):
quick relay settings, and relay processes that kill themselves at a point
(``tests/relay_driver.py``)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockkeeper.settings import StockSettings

from .relay_helpers import ROOT, SpawnDriver, relay_env


@pytest.fixture
def settings(stock_settings: StockSettings) -> StockSettings:
    """Small batches and short timeouts, so a test sees many batches and quick recoveries."""
    return dataclasses.replace(
        stock_settings,
        relay_batch=10,
        relay_kafka_timeout_s=3.0,
        relay_transaction_timeout_ms=10_000,
        relay_claim_idle_ms=1000,
        relay_lease_ms=1000,
    )


@pytest.fixture
def spawn_driver(tmp_path: Path) -> Iterator[SpawnDriver]:
    """Start relays that kill themselves at a point; any left is killed when the test ends."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(
        settings: StockSettings, name: str, point: str, after: int
    ) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.relay_driver", name, point, str(after)],
                env=relay_env(settings),
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)
