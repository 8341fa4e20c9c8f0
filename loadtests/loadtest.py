"""``livesale-bench loadtest``: every Locust scenario at a set of user counts, into one report.

Starts local Redis and Kafka, one server process (with its relay and sweeper) over a
database of its own, a live show, and then, one run at a time:

1. flash-sale rush (``scenarios/flash_sale.py``) at each ``--flash-users``: a fresh offer
   per run, then the invariants: no unit oversold, nobody over the limit, and Kafka holding
   exactly the confirmed orders;
2. live-room load (``scenarios/live_room.py``) at each ``--room-users``;
3. host console activity during room load (``live_room.py`` + ``host_console.py``);
4. the reservation path at full speed with the lean asyncio generator, past Locust's ceiling.

The report folder holds summary.json (headline figures, machine, CPU per process), Locust's
CSV and HTML per run, and PNG plots of throughput and p50/p99 latency over time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson

from deploy import stack
from server.redis_client import connect
from stockkeeper.keys import OfferKeys
from stockkeeper.reconcile import reconcile_offers
from stockkeeper.settings import StockSettings

from .lean_reserve import press_buy
from .loadtest_report import headline, history, plot, print_report, read_stats
from .measure import CpuSampler, busiest, machine
from .server_process import fresh_database, http_json, open_offer_now, server_process

LOADTEST_DB = 12
ROOM = "load-room"
SCENARIOS = Path(__file__).parent / "scenarios"
HOLD_SECONDS = 5


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench loadtest``: every scenario, then the report."""
    redis_server, kafka = stack.up()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / f"loadtest-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    # The configured Redis and Kafka (by default the local ones just started).
    configured = StockSettings.from_env()
    redis_url = f"{configured.redis_url.rsplit('/', 1)[0]}/{LOADTEST_DB}"
    bootstrap = configured.kafka_bootstrap
    run_id = secrets.token_hex(4)
    env = {
        **os.environ,
        "LIVESALE_REDIS_URL": redis_url,
        "LIVESALE_KAFKA_BOOTSTRAP": bootstrap,
        "LIVESALE_ORDERS_TOPIC": f"loadtest.orders.{run_id}",
        "LIVESALE_REFUNDS_TOPIC": f"loadtest.refunds.{run_id}",
        "LIVESALE_VIEWER_SECRET": secrets.token_urlsafe(24),
        "LIVESALE_PORT": str(stack.free_port()),
        "LIVESALE_LOG_LEVEL": "WARNING",
    }
    host_token = asyncio.run(fresh_database(redis_url))
    base = f"http://127.0.0.1:{env['LIVESALE_PORT']}"
    summary: dict[str, Any] = {
        "machine": machine(),
        "started_at": stamp,
        "command": " ".join(["livesale-bench loadtest", *sys.argv[2:]]),
        "runs": [],
    }
    with server_process(env) as server:
        http_json("POST", f"{base}/api/shows", host_token, {"room_id": ROOM, "title": "Load test"})
        http_json("POST", f"{base}/api/shows/{ROOM}/live", host_token, {})
        pids = {
            "server": server.pid,
            "redis": redis_server.process_id(),
            "kafka": kafka.process_id(),
        }
        ctx = RunContext(args, out, base, env, host_token, pids, redis_url, bootstrap)
        for users in args.flash_users:
            summary["runs"].append(ctx.flash_sale(users))
        for users in args.room_users:
            summary["runs"].append(ctx.locust_run("live_room", ["live_room.py"], users))
        summary["runs"].append(
            ctx.locust_run(
                "host_console", ["live_room.py", "host_console.py"], args.host_room_users
            )
        )
        if args.lean_seconds > 0:
            summary["lean"] = ctx.lean_run()
    summary["headline"] = headline(summary)
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print_report(summary, out)


@dataclass
class RunContext:
    """What every run of one load test shares: its options, server, stack and report folder."""

    args: argparse.Namespace
    out: Path
    base: str
    env: dict[str, str]
    host_token: str
    pids: dict[str, int | None]
    redis_url: str
    bootstrap: str
    #: Confirmed orders of the rushes so far; they all share one orders topic.

    def _scenario_env(self, offer_id: str = "", pay_all_after_ms: float = 0) -> dict[str, str]:
        return {
            "LOADTEST_PAY_ALL_AFTER_MS": str(pay_all_after_ms or float("inf")),
            **os.environ,
            "LOADTEST_VIEWER_SECRET": self.env["LIVESALE_VIEWER_SECRET"],
            "LOADTEST_HOST_TOKEN": self.host_token,
            "LOADTEST_ROOM": ROOM,
            "LOADTEST_OFFER_ID": offer_id,
            "LOADTEST_RUN": secrets.token_hex(3),
        }

    def locust_run(
        self,
        name: str,
        files: list[str],
        users: int,
        offer_id: str = "",
        pay_all_after_ms: float = 0,
    ) -> dict[str, Any]:
        """One Locust run of ``files`` at ``users`` users; its statistics, CPU and files."""
        seconds = self.args.seconds
        prefix = self.out / f"{name}-{users}u"
        spawn_rate = max(1, users // self.args.ramp_seconds)
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            ",".join(str(SCENARIOS / f) for f in files),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(spawn_rate),
            "--run-time",
            f"{seconds}s",
            "--host",
            self.base,
            "--csv",
            str(prefix),
            "--csv-full-history",
            "--html",
            f"{prefix}.html",
            "--only-summary",
            "--stop-timeout",
            "3",
            "--loglevel",
            "WARNING",
        ]
        if self.args.processes > 1:
            cmd += ["--processes", str(self.args.processes)]
        print(f"{name}: {users} users for {seconds} s (Locust)", flush=True)
        with (self.out / f"{name}-{users}u.log").open("wb") as log:
            locust = subprocess.Popen(
                cmd,
                env=self._scenario_env(offer_id, pay_all_after_ms),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            sampler = CpuSampler({**self.pids, "locust": locust.pid})
            sampler.start()
            with sampler.polling():
                try:
                    locust.wait(seconds + 120)
                except subprocess.TimeoutExpired:
                    locust.kill()
            cpu, peak = sampler.stop(), sampler.peak()
        stats = read_stats(Path(f"{prefix}_stats.csv"))
        series = history(Path(f"{prefix}_stats_history.csv"))
        plot(series, Path(f"{prefix}.png"), f"{name}, {users} users")
        return {
            "scenario": name,
            "users": users,
            "seconds": seconds,
            "tool": f"locust {self.args.processes} process(es)",
            "stats": stats,
            "peak_requests_per_s": round(max(series["per_s"], default=0.0), 1),
            "cpu_percent_of_a_core": cpu,
            "cpu_peak_percent_of_a_core": peak,
            "bottleneck": busiest(peak),
            "files": {
                "csv": f"{prefix.name}_stats.csv",
                "history_csv": f"{prefix.name}_stats_history.csv",
                "html": f"{prefix.name}.html",
                "plot": f"{prefix.name}.png",
            },
        }

    def flash_sale(self, users: int) -> dict[str, Any]:
        """A rush on a fresh offer, then the sale's invariants checked in Redis and Kafka."""
        stock = max(10, users // 3)
        countdown = max(3, users // max(1, users // self.args.ramp_seconds) + 2)
        product = {
            "sku": f"RUSH-{users}",
            "title": f"Rush for {users}",
            "unit_price": 2500,
            "currency": "EUR",
            "stock": stock,
            "per_user_limit": 1,
            "hold_seconds": HOLD_SECONDS,
            "countdown_seconds": countdown,
            "window_seconds": 3600,
        }
        offer = http_json(
            "POST", f"{self.base}/api/shows/{ROOM}/products", self.host_token, product
        )
        http_json(
            "POST", f"{self.base}/api/shows/{ROOM}/offers/{offer['id']}/launch", self.host_token, {}
        )
        # Holds taken near the end are paid, so no unit comes back after the buyers are gone.
        pay_all_after_ms = (time.time() + self.args.seconds - HOLD_SECONDS - 3) * 1000
        result = self.locust_run(
            "flash_sale", ["flash_sale.py"], users, offer["id"], pay_all_after_ms
        )
        result["offer"] = {"id": offer["id"], "stock": stock, "per_user_limit": 1}
        result["checks"] = asyncio.run(self._check_sale(offer["id"], stock, limit=1))
        return result

    async def _check_sale(self, offer_id: str, stock: int, limit: int) -> dict[str, Any]:
        """The invariants after a rush, by the reconciliation ``livesale reconcile`` runs
        (stockkeeper/reconcile.py): measured in Redis and Kafka, not assumed."""
        redis = connect(self.redis_url)
        k = OfferKeys(offer_id)
        kafka = StockSettings(
            kafka_bootstrap=self.bootstrap, orders_topic=self.env["LIVESALE_ORDERS_TOPIC"]
        )
        try:
            # Let unpaid holds lapse and the relay drain the outbox.
            deadline = time.monotonic() + HOLD_SECONDS + 30
            while time.monotonic() < deadline:
                held = int(await redis.hget(k.offer, "held") or 0)
                if held == 0 and await redis.xlen(k.outbox) == 0:
                    break
                await asyncio.sleep(0.5)
            found = await reconcile_offers(redis, [offer_id], kafka=kafka, timeout_s=60)
            per_user = [int(v) for v in cast(list[str], await redis.hvals(k.users))]
        finally:
            await redis.aclose()
        books = found.offers[0]
        c = books.counters
        confirmed = books.holds.get("confirmed", 0)
        checks: dict[str, Any] = {
            "units": {
                "stock": c["total"],
                "sold": c["sold"],
                "held": c["held"],
                "available": c["available"],
            },
            "no_unit_oversold": not books.unbalanced and c["sold"] <= c["total"],
            "sold_equals_stock": c["sold"] == stock,
            "nobody_over_the_limit": max(per_user, default=0) <= limit,
            "confirmed_orders": confirmed,
            "orders_in_kafka": books.orders_in_kafka,
            "kafka_holds_exactly_the_confirmed_orders": found.ok
            and not found.pending
            and books.orders_in_kafka == confirmed,
            "buyers": len(per_user),
            # Every difference and pending item of the reconciliation, with its ids.
            "reconciliation": [d.line() for d in found.differences + found.pending],
        }
        checks["passed"] = (
            found.ok
            and checks["no_unit_oversold"]
            and checks["nobody_over_the_limit"]
            and checks["kafka_holds_exactly_the_confirmed_orders"]
        )
        return checks

    def lean_run(self) -> dict[str, Any]:
        """The reservation path at full speed with the lean asyncio generator."""
        offer_id = open_offer_now(self.base, self.host_token, ROOM, "LEAN")
        print(f"lean: reservations for {self.args.lean_seconds} s (asyncio generator)", flush=True)
        # The generator runs in this process, whose children (the server) are counted apart.
        sampler = CpuSampler({**self.pids, "generator": os.getpid()}, own_only={"generator"})
        sampler.start()
        with sampler.polling():
            figures = asyncio.run(
                press_buy(
                    self.base,
                    offer_id,
                    self.env["LIVESALE_VIEWER_SECRET"],
                    self.args.lean_seconds,
                    self.args.lean_concurrency,
                )
            )
        cpu, peak = sampler.stop(), sampler.peak()
        return {
            **figures,
            "cpu_percent_of_a_core": cpu,
            "cpu_peak_percent_of_a_core": peak,
            "bottleneck": busiest(peak),
        }
