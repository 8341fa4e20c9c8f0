"""Fixtures of tests that run the service as separate `livesale serve` processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockkeeper.settings import StockSettings

from .helpers import serve_processes


@pytest.fixture
def two_servers(
    stock_settings: StockSettings, tmp_path: Path, redis: object
) -> Iterator[tuple[str, str]]:
    """Two `livesale serve` processes over the test Redis; their base URLs."""
    with serve_processes(stock_settings, tmp_path) as urls:
        yield urls[0], urls[1]
