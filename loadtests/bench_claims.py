"""The coupon claim storm of ``livesale-bench reserve``: viewers tapping "claim" on a live
coupon drop as fast as wrk sends them, beside the reservation storm of the same run (issue
14's target: claims at least as fast as reservations). Each round claims from a drop of its
own; the claims answered are checked against the drops' counts in Redis."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from server.coupons.keys import ActivityKeys
from server.coupons.models import MAX_QUOTA
from server.redis_client import connect
from stockkeeper.settings import StockSettings

from .server_process import http_json
from .wrk import run_wrk, storm_script

#: A tap on a coupon drop; %s is its idempotency key (fresh for every request).
CLAIM = '{"idempotency_key":"%s"}'
ROOM = "bench-coupons"


class ClaimStorm:
    """A show with a fresh coupon drop per round, and the drops made so far."""

    def __init__(self, base: str, host_token: str, tokens: list[str], tmp: Path) -> None:
        self.base, self.host, self.tokens, self.tmp = base, host_token, tokens, tmp
        self.drops: list[str] = []
        http_json("POST", f"{base}/api/shows", host_token, {"room_id": ROOM, "title": "Claims"})

    def run(self, args: argparse.Namespace) -> dict[str, Any]:
        """One round: a new drop (quota 100,000, 10 per viewer), started, then the storm."""
        shows = f"{self.base}/api/shows/{ROOM}/coupon-drops"
        drop = {"title": "Bench", "amount_off": 100, "quota": MAX_QUOTA, "per_viewer": 10}
        drop_id = http_json("POST", shows, self.host, {**drop, "claim_seconds": 3600})["drop_id"]
        http_json("POST", f"{shows}/{drop_id}/start", self.host, {})
        self.drops.append(drop_id)
        path = f"/api/rooms/{ROOM}/coupon-drops/{drop_id}/claim"
        script = storm_script(self.tmp, self.tokens, path, CLAIM)
        figures = run_wrk(self.base + path, args.connections, args.seconds, script)
        answers = figures.pop("statuses")
        claimed, conflict, other = answers["200"], answers["409"], answers["201"] + answers["other"]
        total = claimed + conflict + other
        return {
            **figures,
            "ok": claimed,
            "conflict": conflict,
            "other": other,
            "ok_per_s": figures["requests_per_s"] * claimed / total if total else 0.0,
        }

    async def check(
        self, settings: StockSettings, connections: int, runs: list[dict[str, Any]]
    ) -> dict[str, int]:
        """The claims answered 200 against the drops' counts in Redis (at most one tap per
        connection per round unanswered when wrk stopped); exits 1 when they differ."""
        redis = connect(settings.redis_url)
        try:
            counts = [
                int(await redis.hget(ActivityKeys(d).info, "claimed") or 0) for d in self.drops
            ]
        finally:
            await redis.aclose()
        counted = sum(run["ok"] for run in runs)
        figures = {
            "claims_counted": counted,
            "claims_in_redis": sum(counts),
            "failed": sum(run["other"] for run in runs),
        }
        unanswered = figures["claims_in_redis"] - counted
        if not 0 <= unanswered <= connections * len(runs) or figures["failed"]:
            sys.exit(f"The claim storm does not add up, so no figures are printed: {figures}")
        return figures
