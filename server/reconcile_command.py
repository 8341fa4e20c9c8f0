"""``livesale reconcile [--show ROOM]``: the books, holds, outbox and Kafka, offer by offer
(stockkeeper/reconcile.py); every difference printed with its ids; exit 1 when something
does not add up."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from stockkeeper.reconcile import Reconciliation, reconcile
from stockkeeper.settings import StockSettings

from .preflight import Unreachable, check
from .redis_client import connect


async def run_reconcile(
    settings: StockSettings, room_id: str | None, read_kafka: bool, timeout_s: float
) -> Reconciliation:
    """Reconcile against the Redis and Kafka of ``settings``."""
    redis = connect(settings.redis_url)
    try:
        return await reconcile(redis, settings, room_id, read_kafka=read_kafka, timeout_s=timeout_s)
    finally:
        await redis.aclose()


def cmd_reconcile(args: argparse.Namespace) -> None:
    """Print the reconciliation; exit 1 on a difference (or, with --strict, on pending)."""
    settings = StockSettings.from_env()
    try:
        asyncio.run(check(settings.redis_url, None if args.no_kafka else settings.kafka_bootstrap))
    except Unreachable as exc:
        sys.exit(f"livesale reconcile: {exc}")
    result = asyncio.run(run_reconcile(settings, args.show, not args.no_kafka, args.timeout))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(result.report())
    sys.exit(0 if result.ok and not (args.strict and result.pending) else 1)


def add_reconcile_parser(sub: Any) -> None:
    """The ``reconcile`` subcommand, on the ``livesale`` command's subparsers."""
    r = sub.add_parser(
        "reconcile",
        help="check the books, holds, outbox and Kafka offer by offer; exit 1 on a difference",
        description="For every offer (of one show with --show): the books in Redis (total, "
        "available, held, sold), the holds, the confirmed orders, the outbox and the orders "
        "in Kafka (read committed, by partition assignment: no consumer group's offsets "
        "move). Prints each difference with the hold and order ids. Confirmed orders still "
        "in the outbox are PENDING (not yet relayed), not differences. Exit 0 when "
        "everything adds up, 1 otherwise.",
    )
    r.add_argument("--show", metavar="ROOM", help="only the offers of this show's room")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.add_argument("--no-kafka", action="store_true", help="check Redis only")
    r.add_argument("--strict", action="store_true", help="also exit 1 when anything is pending")
    r.add_argument("--timeout", type=float, default=30.0, help="seconds to read Kafka (default 30)")
    r.set_defaults(func=cmd_reconcile)
