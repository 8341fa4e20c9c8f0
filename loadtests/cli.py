"""The ``livesale-bench`` command: benchmarks and load tests, apart from the product's command.

It ships with the package but runs only with the development extras (psutil, Locust,
matplotlib...); without them it says so in one line. ``livesale`` never imports this package.

- ``reserve``: hello-world, reservation, sold-out and coupon claim rates of one server process
  (wrk);
- ``costs``: the server's CPU per request, without sockets (or, ``--count instructions``, the
  instructions it executes, counted under Valgrind);
- ``room``: a room full of viewers: fan-out delay, and buying over the sockets;
- ``buckets``: a hot offer on the local Redis Cluster, one slot against K buckets;
- ``groups``: group joins a second in a join storm, beside reservations a second;
- ``loadtest``: the Locust scenarios at several user counts, into one report;
- ``relay``: orders a second into Kafka, with the relay's transactions and without;
- ``chaos``: a flash sale while workers, relays, Redis and Kafka are broken, reconciled;
- ``centrifugo``: a room against a Centrifugo v6 channel on the same clients, one core each.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

from server.settings import CommandSettings

from . import centrifugo_args

#: Modules of the development extras the benchmarks import (``pip install -e '.[dev]'``).
DEV_MODULES = ("psutil", "locust", "matplotlib", "websocket")


def missing_dev_extras() -> list[str]:
    """The development modules this environment lacks (found without importing them)."""
    return [name for name in DEV_MODULES if importlib.util.find_spec(name) is None]


def _run(args: argparse.Namespace) -> None:
    """Import the chosen benchmark's module only now (it needs the dev extras) and run it."""
    importlib.import_module(f"loadtests.{args.module}").main(args)


def parser() -> argparse.ArgumentParser:
    """The ``livesale-bench`` command line."""
    p = argparse.ArgumentParser(
        prog="livesale-bench",
        description="Benchmarks and load tests of livesale (needs the development extras).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser(
        "reserve", help="measure hello-world, reservation, sold-out and coupon claim rates"
    )
    b.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    b.add_argument("--rounds", type=int, default=3, help="rounds of all phases (medians)")
    b.add_argument("--connections", type=int, default=64, help="concurrent clients")
    b.add_argument("--stock", type=int, default=1_000_000, help="units in the storm offer")
    b.add_argument(
        "--workers", type=int, default=1, help="server processes on the port (serve --workers)"
    )
    b.add_argument("--out", help="also write the figures as JSON to this file")
    b.set_defaults(func=_run, module="bench_reserve")

    bc = sub.add_parser(
        "costs",
        help="server CPU (or instructions) per request (hello world, sold out, reservation), "
        "without sockets",
    )
    bc.add_argument("--requests", type=int, default=20_000, help="requests per case and round")
    bc.add_argument("--rounds", type=int, default=5, help="rounds of all cases (medians)")
    bc.add_argument("--connections", type=int, default=64, help="requests in flight at once")
    bc.add_argument(
        "--count",
        choices=("cpu", "instructions"),
        default="cpu",
        help="measure CPU time (default), or count instructions under Valgrind's callgrind: "
        "slower, but the machine's other work does not move the figures",
    )
    bc.add_argument("--out", help="also write the figures as JSON to this file")
    bc.set_defaults(func=_run, module="bench_costs")

    br = sub.add_parser("room", help="measure a room: viewers held, fan-out, delay")
    br.add_argument("--viewers", type=int, default=10_000, help="WebSocket viewers")
    br.add_argument("--rate", type=float, default=20.0, help="events published a second")
    br.add_argument(
        "--eager-viewers",
        action="store_true",
        help="every viewer reads as its frames arrive, in one client process (the load "
        "generator then takes far more CPU); by default only the timed viewers do",
    )
    br.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    br.add_argument("--batch-ms", type=int, default=50, help="the server's batch window")
    br.add_argument("--buyers", type=int, default=64, help="sockets buying at once")
    br.add_argument("--window", type=int, default=8, help="reservations in flight per socket")
    br.add_argument("--rounds", type=int, default=3, help="rounds of the buying comparison")
    br.add_argument("--out", help="also write the figures as JSON to this file")
    br.set_defaults(func=_run, module="bench_room")

    bb = sub.add_parser(
        "buckets", help="a hot offer on the local 3-master cluster: one slot against K buckets"
    )
    bb.add_argument("--buckets", type=int, default=6, help="buckets of the split offer")
    bb.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    bb.add_argument("--rounds", type=int, default=3, help="rounds of both settings (medians)")
    bb.add_argument("--generators", type=int, default=2, help="load generator processes")
    bb.add_argument("--concurrency", type=int, default=200, help="buyers per generator")
    bb.add_argument("--sell-out-stock", type=int, default=5000, help="units in the sell-out check")
    bb.add_argument("--out", help="also write the figures as JSON to this file")
    bb.set_defaults(func=_run, module="bench_buckets")

    lt = sub.add_parser(
        "loadtest",
        help="Locust scenarios at several user counts: a report with CSV, HTML and plots",
    )
    _loadtest_arguments(lt)
    lt.set_defaults(func=_run, module="loadtest")

    bg = sub.add_parser("groups", help="group joins/s in a join storm beside reservations/s")
    _groups_arguments(bg)
    bg.set_defaults(func=_run, module="bench_groups")

    rl = sub.add_parser(
        "relay", help="orders/s into Kafka: relay transactions against at least once"
    )
    rl.add_argument("--orders", type=int, default=20_000, help="orders relayed per round")
    rl.add_argument("--offers", type=int, default=4, help="offers (outbox streams) they span")
    rl.add_argument("--batch", type=int, default=500, help="the relay's batch per stream")
    rl.add_argument("--rounds", type=int, default=3, help="rounds of both relays (medians)")
    rl.add_argument("--out", help="also write the figures as JSON to this file")
    rl.set_defaults(func=_run, module="bench_relay")

    ch = sub.add_parser(
        "chaos",
        help="a flash sale while a worker, the relays, Redis and Kafka are broken; reconciled",
    )
    ch.add_argument("--minutes", type=float, default=5.0, help="length of the load")
    ch.add_argument("--buyers", type=int, default=200, help="concurrent buyers")
    ch.add_argument("--flash-stock", type=int, help="units of the flash-sale offer")
    ch.add_argument("--hold-seconds", type=int, default=10, help="the offers' time to pay")
    ch.add_argument(
        "--relay-timeout",
        type=float,
        default=30.0,
        help="the relays' Kafka timeout in s, as LIVESALE_RELAY_KAFKA_TIMEOUT_S (default 30, "
        "the product's); their takeover idle time is the same, their transaction timeout twice",
    )
    ch.add_argument("--kafka-outage", type=float, default=45.0, help="seconds Kafka is down")
    ch.add_argument("--down", type=float, default=5.0, help="seconds Redis and relay-a are down")
    ch.add_argument("--keep", action="store_true", help="keep the run's folder (logs, data)")
    ch.add_argument("--out", help="also write the report as JSON to this file")
    ch.set_defaults(func=_run, module="chaos")

    cf = sub.add_parser(
        "centrifugo", help="a room against Centrifugo v6: same viewers and events, one core each"
    )
    centrifugo_args.add_arguments(cf)
    cf.set_defaults(func=_run, module="bench_centrifugo")
    return p


def _groups_arguments(p: argparse.ArgumentParser) -> None:
    # Here rather than imported: the arguments must not pull in the benchmark's modules.
    p.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    p.add_argument("--rounds", type=int, default=3, help="rounds of both phases (medians)")
    p.add_argument("--concurrency", type=int, default=64, help="buyers pressing at once")
    p.add_argument("--size", type=int, default=3, help="group size")
    p.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:16379/14",
        help="a scratch Redis database; the offers are left behind",
    )
    p.add_argument("--out", help="also write the figures as JSON to this file")


def _loadtest_arguments(p: argparse.ArgumentParser) -> None:
    def counts(text: str) -> list[int]:
        return [int(n) for n in text.split(",") if n]

    p.add_argument("--flash-users", type=counts, default=[100, 400], help="e.g. 100,400")
    p.add_argument("--room-users", type=counts, default=[200, 800], help="e.g. 200,800")
    p.add_argument("--host-room-users", type=int, default=200, help="viewers while hosts act")
    p.add_argument("--seconds", type=int, default=25, help="length of each Locust run")
    p.add_argument("--ramp-seconds", type=int, default=5, help="time to start all users")
    p.add_argument("--processes", type=int, default=1, help="Locust processes (--processes)")
    p.add_argument("--lean-seconds", type=float, default=10, help="0 skips the lean run")
    p.add_argument("--lean-concurrency", type=int, default=64)
    p.add_argument("--out", default="reports", help="folder for the report folders")


def main(argv: Sequence[str] | None = None) -> None:
    """Run one benchmark, or say in one line which development extras are missing."""
    missing = missing_dev_extras()
    if missing:
        sys.exit(
            f"livesale-bench: the benchmarks need the development extras ({', '.join(missing)} "
            "missing): pip install -e '.[dev]' in a clone of the repository (make test does it)."
        )
    logging.basicConfig(
        level=CommandSettings.from_env().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = parser().parse_args(argv)
    args.func(args)
