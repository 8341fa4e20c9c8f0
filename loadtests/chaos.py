"""``livesale-bench chaos``: a flash sale under load while a schedule breaks things, then a
reconciliation of the books, the holds, the outbox, Kafka and what every buyer was told.

It runs its own Redis and Kafka (in a temporary folder, on free loopback ports), so
restarting them disturbs nothing else; ``serve --workers 2 --no-relay`` and two ``livesale
relay`` processes with stable names over them. Buyers (``chaos_buyers``) press buy, pay,
cancel or walk away for the whole run while the schedule (``chaos_schedule``) kills a
worker and the relays, restarts Redis cleanly and by a crash, and stops Kafka. Then the
load stops, holds expire, the relays drain the outboxes, and ``chaos_reconcile`` checks
that no unit and no order was lost or doubled. Exits with status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop
from redis.asyncio import Redis

from server.hosts.accounts import HostAccounts
from server.redis_client import connect
from stockkeeper.keys import RELAY_GROUP, OfferKeys, bucket_ids
from stockkeeper.settings import StockSettings

from .chaos_buyers import Buyers, Ledger, Sale, resolve_pending
from .chaos_reconcile import Check, Offer, reconcile
from .chaos_schedule import Chaos, Event, Plan
from .chaos_stack import ChaosStack, RelayTimings
from .measure import machine

#: Units of the plenty offer: more than any run sells.
BIG_STOCK = 10_000_000
#: Buckets of the hot offer (a flash sale spread over several Redis slots).
HOT_BUCKETS = 4
#: A request the run gave up on is sent again for at most this long at the end.
RESOLVE_S = 30.0


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    """One chaos run, from the command line."""

    minutes: float = 5.0
    buyers: int = 200
    flash_stock: int | None = None
    hold_seconds: int = 10
    relay_timeout_s: float = 30.0
    kafka_outage_s: float = 45.0
    down_s: float = 5.0
    keep: bool = False

    @property
    def stock(self) -> int:
        """Units of the flash-sale offer: by default few enough to sell out early on."""
        return self.flash_stock or max(50, int(self.buyers * self.minutes * 10))


def config_from(args: argparse.Namespace) -> ChaosConfig:
    """The run's settings from ``livesale-bench chaos``'s arguments."""
    return ChaosConfig(
        minutes=args.minutes,
        buyers=args.buyers,
        flash_stock=args.flash_stock,
        hold_seconds=args.hold_seconds,
        relay_timeout_s=args.relay_timeout,
        kafka_outage_s=args.kafka_outage,
        down_s=args.down,
        keep=args.keep,
    )


async def _host_token(redis_url: str) -> str:
    redis = connect(redis_url)
    try:
        accounts = HostAccounts(redis)
        await accounts.create("chaos-host", secrets.token_urlsafe(16))
        return await accounts.mint_api_token("chaos-host", "chaos")
    finally:
        await redis.aclose()


async def _open_offer(base: str, token: str, offer: Offer, hold_seconds: int) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "room_id": "chaos-room",
        "sku": offer.label.upper(),
        "title": f"Chaos item {offer.label}",
        "unit_price": 990,
        "currency": "EUR",
        "stock": offer.stock,
        "per_user_limit": 1000,
        "hold_seconds": hold_seconds,
        "buckets": offer.buckets,
    }
    window = {"countdown_seconds": 0, "window_seconds": 3600}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(f"{base}/api/offers", json=body) as resp:
            resp.raise_for_status()
            offer_id = str((await resp.json())["id"])
        async with session.post(f"{base}/api/offers/{offer_id}/open", json=window) as resp:
            resp.raise_for_status()
    return offer_id


async def _settled(redis: Redis, offers: dict[str, Offer]) -> bool:
    """Nothing held or in transit between buckets, every outbox empty, nothing pending."""
    for offer_id, offer in offers.items():
        for bucket in bucket_ids(offer_id, offer.buckets):
            k = OfferKeys(bucket)
            held, moving = await redis.hmget(k.offer, ["held", "sent_pending"])
            if int(held or 0) or int(moving or 0) or await redis.xlen(k.outbox):
                return False
            if (await redis.xpending(k.outbox, RELAY_GROUP))["pending"]:
                return False
    return True


async def _wait_settled(redis: Redis, offers: dict[str, Offer], timeout_s: float) -> float:
    """Wait until holds have expired and the relays drained the outboxes; how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if await _settled(redis, offers):
                break
        except OSError:
            pass
        await asyncio.sleep(0.5)
    return round(time.monotonic() - started, 1)


async def run(config: ChaosConfig, workdir: Path) -> dict[str, Any]:
    """The whole run: start, load under chaos, settle, reconcile; the report."""
    stack = ChaosStack(workdir, RelayTimings(config.relay_timeout_s))
    # SIGTERM (a test's time running out) stops the run like Ctrl-C: through the finally
    # below, which stops the Redis and Kafka it started in sessions of their own.
    main_task = asyncio.current_task()
    assert main_task is not None  # always true inside uvloop.run
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    print(f"Starting Redis, Kafka, serve --workers 2 and two relays in {workdir}", flush=True)
    try:
        await asyncio.to_thread(stack.start)
        token = await _host_token(stack.redis.url)
        offers = {
            "flash": Offer("flash", config.stock),
            "hot": Offer("hot", config.stock, HOT_BUCKETS),
            "plenty": Offer("plenty", BIG_STOCK),
        }
        ids = {
            label: await _open_offer(stack.base, token, offer, config.hold_seconds)
            for label, offer in offers.items()
        }
        offers_by_id = {ids[label]: offer for label, offer in offers.items()}
        ledger = Ledger()
        buyers = Buyers(
            Sale(stack.base, stack.viewer_secret, ids, config.hold_seconds),
            config.buyers,
            ledger,
        )
        duration = config.minutes * 60
        plan = Plan(duration, config.down_s, config.kafka_outage_s, config.relay_timeout_s)
        print(f"Load: {config.buyers} buyers for {duration:.0f} s; chaos:", flush=True)
        ledger.started = time.monotonic()
        load = asyncio.create_task(buyers.run())
        chaos = Chaos(stack, plan, ledger.started)
        await chaos.run()
        elapsed = time.monotonic() - ledger.started
        await asyncio.sleep(max(duration - elapsed, duration * 0.1))
        load_s = time.monotonic() - ledger.started
        buyers.stop.set()
        buyers.give_up_at = time.monotonic() + RESOLVE_S
        await load
        print(f"Load stopped after {load_s:.0f} s; settling and reconciling", flush=True)
        await resolve_pending(buyers, RESOLVE_S)
        alive = Check(
            stack.supervisor is not None
            and stack.supervisor.poll() is None
            and len(stack.worker_pids()) == 2
            and all(p.poll() is None for p in stack.relays.values()),
            "processes: the server's supervisor, its two workers and both relays still run",
        )
        # 503 says "retry"; any other 5xx leaves the buyer not knowing what happened.
        server_errors = sum(
            n
            for answer, n in ledger.answers.items()
            if answer.split()[1].startswith("5") and answer.split()[1] != "503"
        )
        unnamed = Check(
            server_errors == 0, f"answers: no 5xx but 503 stock_unavailable ({server_errors})"
        )
        redis = connect(stack.redis.url)
        try:
            settle_s = await _wait_settled(
                redis, offers_by_id, config.hold_seconds + config.relay_timeout_s * 4 + 60
            )
            settings = StockSettings(
                redis_url=stack.redis.url, kafka_bootstrap=stack.kafka.bootstrap
            )
            checks, figures = await reconcile(redis, settings, offers_by_id, ledger)
        finally:
            await redis.aclose()
        checks = [alive, unnamed, *checks]
        return _report(config, chaos.events, ledger, checks, figures, load_s, settle_s, stack)
    finally:
        # An action still running in a thread (the run cancelled mid-action) ends first, so
        # that nothing it starts outlives the run.
        await asyncio.get_running_loop().shutdown_default_executor()
        stack.stop()


def _report(
    config: ChaosConfig,
    events: list[Event],
    ledger: Ledger,
    checks: list[Check],
    figures: dict[str, Any],
    load_s: float,
    settle_s: float,
    stack: ChaosStack,
) -> dict[str, Any]:
    orders = sum(ledger.orders_per_second.values())
    last = int(load_s) + 1
    return {
        "passed": all(c.ok for c in checks),
        "machine": machine(),
        "config": asdict(config) | {"flash_stock": config.stock},
        "load_seconds": round(load_s, 1),
        "settle_seconds": settle_s,
        "schedule": [asdict(e) for e in events],
        "answers": dict(sorted(ledger.answers.items())),
        "orders": orders,
        "orders_per_s": round(orders / load_s, 1),
        "first_sold_out_at_s": round(ledger.first_sold_out_s or 0, 1) or None,
        "unanswered_requests": len(ledger.pending),
        "takeovers_logged": stack.took_over(),
        "redis_postponed_aof_writes": stack.redis_postponed_writes(),
        "checks": [{"ok": c.ok, "line": c.line} for c in checks],
        "figures": figures,
        "orders_by_second": [ledger.orders_per_second[s] for s in range(last)],
        "failures_by_second": [ledger.failures_per_second[s] for s in range(last)],
    }


def print_report(report: dict[str, Any]) -> None:
    """The report, for a person."""
    print("\nSchedule (seconds into the load):")
    for event in report["schedule"]:
        print(
            f"  {event['at_s']:6.1f}  {event['action']:15} {event['detail']} ({event['took_s']} s)"
        )
    print("\nAnswers the buyers got (every attempt):")
    for answer, count in report["answers"].items():
        print(f"  {answer:40} {count:>8}")
    print(f"\nRequests never answered: {report['unanswered_requests']}")
    print(f"First sold_out answer at {report['first_sold_out_at_s']} s")
    kafka = report["figures"].get("kafka", {})
    print(
        f"Orders: {report['orders']} in {report['load_seconds']} s, {report['orders_per_s']}/s; "
        f"Kafka: {kafka.get('orders_read_committed')} read committed, "
        f"{kafka.get('orders_read_uncommitted')} read uncommitted (aborted copies included)"
    )
    print(f"Settled (holds expired, outboxes drained) in {report['settle_seconds']} s")
    print("\nReconciliation:")
    for check in report["checks"]:
        print(f"  {'OK  ' if check['ok'] else 'FAIL'} {check['line']}")
    print(f"\n{'PASSED' if report['passed'] else 'FAILED'}")


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench chaos``; exit with status 1 when the reconciliation fails."""
    config = config_from(args)
    workdir = Path(tempfile.mkdtemp(prefix="livesale-chaos-"))
    report: dict[str, Any] | None = None
    try:
        try:
            report = uvloop.run(run(config, workdir))
        except (asyncio.CancelledError, KeyboardInterrupt):
            print("Stopped before the end: nothing reconciled")
            sys.exit(1)
        print_report(report)
        if args.out:
            Path(args.out).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
            print(f"Written to {args.out}")
    finally:
        passed = report is not None and report["passed"]
        if passed and not config.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"Logs and data kept in {workdir}")
    if not passed:
        sys.exit(1)
