"""The coupon claim storm of ``livesale-bench reserve``: viewers tapping "claim" on a live
coupon drop as fast as wrk sends them, beside the reservation storm of the same run (issue
14's target: claims at least as fast as reservations). Each round claims from a drop of its
own; the claims answered are checked against the drops' counts in Redis."""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from server.coupons.keys import ActivityKeys
from server.coupons.models import MAX_QUOTA
from server.redis_client import connect
from stockkeeper.settings import StockSettings

from .server_process import http_json

WRK_CLAIM = Path(__file__).with_name("wrk_claim.lua")
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
        lua = WRK_CLAIM.read_text()
        lua = lua.replace(
            "local tokens = TOKENS",
            "local tokens = {" + ",".join(f'"{t}"' for t in self.tokens) + "}",
        )
        lua = lua.replace("local path = PATH", f'local path = "{path}"')
        lua = lua.replace("local round = ROUND", f'local round = "{secrets.token_hex(6)}"')
        script = self.tmp / f"claim-{secrets.token_hex(4)}.lua"
        script.write_text(lua)
        cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{round(args.seconds)}s", "--latency"]
        out = subprocess.run(
            [*cmd, "-s", str(script), self.base + path], capture_output=True, text=True, check=True
        ).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        latency = {
            p: m.group(1) for p in ("50", "99") if (m := re.search(rf"^\s+{p}%\s+(\S+)", out, re.M))
        }
        found = re.search(r"CLAIMS 200=(\d+) 409=(\d+) other=(\d+)", out)
        if found is None:
            sys.exit(f"wrk did not report the claims' answers:\n{out}")
        claimed, conflict, other = (int(g) for g in found.groups())
        total = claimed + conflict + other
        return {
            "requests_per_s": rate,
            "p50": latency.get("50"),
            "p99": latency.get("99"),
            "ok": claimed,
            "conflict": conflict,
            "other": other,
            "ok_per_s": rate * claimed / total if total else 0.0,
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
