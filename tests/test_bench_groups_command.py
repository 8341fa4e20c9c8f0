"""``livesale-bench groups`` runs both phases and checks its books (a short run)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from redis.asyncio import Redis

from loadtests import bench_groups

from .conftest import REDIS_URL


async def test_the_groups_benchmark_measures_both_phases_and_its_books_add_up(
    redis: Redis, tmp_path: Path
) -> None:
    out = tmp_path / "groups.json"
    args = argparse.Namespace(
        seconds=0.3, rounds=1, concurrency=8, size=3, redis_url=REDIS_URL, out=str(out)
    )
    results = await bench_groups._run(args)
    assert results["group_joins"]["per_s"] > 0
    assert results["reservations"]["per_s"] > 0
    assert all(check["problems"] == [] for check in results["checks"])
    assert results["checks"][0]["formed"] > 0
    json.dumps(results)  # what --out writes
