"""``livesale-bench reserve``: one server process measured against itself, in one run.

Phases, each for ``--seconds`` with ``--connections`` concurrent clients driven by wrk (C,
so the load generator takes as little of the machine's CPU as possible):

1. hello world: ``GET /healthz`` through the same aiohttp + uvloop stack and the service's
   routes;
2. bare aiohttp (loadtests/bare_server.py): its own hello world, and the storm's exact
   requests answered with a constant, i.e. what aiohttp alone charges for them;
3. purchase storm: every request a fresh reservation (presses merged per offer and tick);
4. sold out: every request a reservation on a sold-out offer (answered from the flag);
5. orders to Kafka: the storm's holds are confirmed as fast as Redis takes them, while the
   server's relay publishes them; reports both rates;
6. coupon claims: viewers tapping "claim" on a live coupon drop (bench_claims.py), beside
   the reservations.

The figures are ratios of one run on one machine, so a noisy shared host moves them
together. Results are printed and, with ``--out``, written as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import orjson

from deploy import stack
from server.redis_client import connect
from server.tokens import mint_viewer_token
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.relay import OutboxRelay
from stockkeeper.settings import StockSettings

from .bench_claims import ClaimStorm
from .measure import machine, median_run
from .server_process import fresh_database, http_json, open_offer_now, server_process
from .wrk import run_wrk, storm_script

BENCH_DB = 13
#: A press of the buy button; %s is its idempotency key (fresh for every request).
PRESS = '{"quantity":1,"idempotency_key":"%s"}'


def _wrk(args: argparse.Namespace, url: str, script: Path | None = None) -> dict[str, Any]:
    figures = run_wrk(url, args.connections, args.seconds, script)
    if "statuses" in figures:
        answers = figures.pop("statuses")
        created, replayed, conflict, other = (
            answers["201"],
            answers["200"],
            answers["409"],
            answers["other"],
        )
        total, rate = created + replayed + conflict + other, figures["requests_per_s"]
        # 200 is a replayed press (the same hold again), never counted as a reservation.
        figures.update(ok=created, replayed=replayed, conflict=conflict, other=other)
        figures["ok_per_s"] = rate * created / total if total else 0.0
        figures["conflict_per_s"] = rate * conflict / total if total else 0.0
    return figures


def _script(directory: Path, tokens: list[str], path: str) -> Path:
    return storm_script(directory, tokens, path, PRESS)


async def _orders_to_kafka(settings: StockSettings, offer_id: str, limit: int) -> dict[str, Any]:
    """Confirm up to ``limit`` holds as fast as possible; time until Kafka has them all."""
    redis = connect(settings.redis_url)
    keeper = StockKeeper(redis, settings)
    await keeper.start()
    probe = OutboxRelay(redis, settings, "bench-probe")
    try:
        k = OfferKeys(offer_id)
        hold_ids = cast(list[str], await redis.zrange(k.deadlines, 0, limit - 1))
        pipe = redis.pipeline(transaction=False)
        for hold_id in hold_ids:
            pipe.hget(k.hold(hold_id), "user_id")
        users = await pipe.execute()
        started = time.perf_counter()
        for i in range(0, len(hold_ids), 1000):
            chunk = zip(hold_ids[i : i + 1000], users[i : i + 1000], strict=True)
            await asyncio.gather(*(keeper.confirm(h, u, f"bench-{h}") for h, u in chunk))
        confirmed_in = time.perf_counter() - started
        # Polling is the measurement: the relay runs in the server process.
        while await probe.outbox_depth() > 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        in_kafka_in = time.perf_counter() - started
    finally:
        await keeper.close()
        await redis.aclose()
    count = len(hold_ids)
    return {
        "orders": count,
        "confirmed_per_s": count / confirmed_in if confirmed_in else 0.0,
        "in_kafka_per_s": count / in_kafka_in if in_kafka_in else 0.0,
        "kafka_lag_after_last_confirm_s": in_kafka_in - confirmed_in,
    }


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench reserve`` and print (and write) its figures."""
    if not shutil.which("wrk"):
        stack.apt_install("wrk")
    stack.up()  # the local Redis and Kafka, unless they already run
    # The configured Redis and Kafka (by default the local ones just started).
    configured = StockSettings.from_env()
    redis_url = configured.redis_url.rsplit("/", 1)[0]
    run = secrets.token_hex(4)
    env = {
        **os.environ,
        "LIVESALE_REDIS_URL": f"{redis_url}/{BENCH_DB}",
        "LIVESALE_KAFKA_BOOTSTRAP": configured.kafka_bootstrap,
        "LIVESALE_ORDERS_TOPIC": f"bench.orders.{run}",
        "LIVESALE_REFUNDS_TOPIC": f"bench.refunds.{run}",
        "LIVESALE_VIEWER_SECRET": secrets.token_urlsafe(24),
        "LIVESALE_PORT": str(stack.free_port()),
        "LIVESALE_LOG_LEVEL": "WARNING",
        "LIVESALE_WORKERS": str(args.workers),
    }
    settings = StockSettings.from_env(env)
    host_token = asyncio.run(fresh_database(settings.redis_url))
    base = f"http://127.0.0.1:{env['LIVESALE_PORT']}"
    with server_process(env), tempfile.TemporaryDirectory() as tmp:
        results = _run_phases(args, base, env, Path(tmp), settings, host_token)
    _report(results, args)


def _run_phases(
    args: argparse.Namespace,
    base: str,
    env: dict[str, str],
    tmp: Path,
    settings: StockSettings,
    host: str,
) -> dict[str, Any]:
    tokens = [
        mint_viewer_token(env["LIVESALE_VIEWER_SECRET"], f"bench-{i}", f"Viewer {i}")
        for i in range(5000)
    ]

    storm_offer = open_offer_now(base, host, "bench", "STORM", args.stock)
    sold_out_offer = open_offer_now(base, host, "bench", "SOLD-OUT", stock=1, limit=1)
    http_json(
        "POST",
        f"{base}/api/offers/{sold_out_offer}/reservations",
        tokens[0],
        {"idempotency_key": "bench-sell-out-0001"},
    )

    print("Warming up...", flush=True)
    _wrk(argparse.Namespace(connections=args.connections, seconds=2), f"{base}/healthz")
    storm_path = f"/api/offers/{storm_offer}/reservations"
    claims = ClaimStorm(base, host, tokens, tmp)
    sold_out_path = f"/api/offers/{sold_out_offer}/reservations"
    phases: dict[str, Callable[[], dict[str, Any]]] = {
        "hello_world": lambda: _wrk(args, f"{base}/healthz"),
        "bare_hello_world": lambda: _bare(args, tokens, tmp, post=False),
        "bare_floor": lambda: _bare(args, tokens, tmp, post=True),
        "reserve": lambda: _wrk(args, base + storm_path, _script(tmp, tokens, storm_path)),
        "sold_out": lambda: _wrk(args, base + sold_out_path, _script(tmp, tokens, sold_out_path)),
        "coupon_claims": lambda: claims.run(args),
    }
    # Phases take turns, round after round, so a busy moment on a shared machine hits all
    # of them alike; each figure is the median of its rounds.
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in phases}
    for n in range(1, args.rounds + 1):
        for name, run_phase in phases.items():
            print(f"Round {n}/{args.rounds}: {name}", flush=True)
            rounds[name].append(run_phase())
    results: dict[str, Any] = {
        "machine": machine(),
        "server_processes": args.workers,
        "connections": args.connections,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        **{name: median_run(runs, "requests_per_s") for name, runs in rounds.items()},
        "all_rounds": rounds,
    }
    checked = _check(settings, args.connections, storm_offer, sold_out_offer, rounds)
    results["checked"] = asyncio.run(checked)
    claims_checked = claims.check(settings, args.connections, rounds["coupon_claims"])
    results["claims_checked"] = asyncio.run(claims_checked)
    print("Orders to Kafka", flush=True)
    results["orders"] = asyncio.run(_orders_to_kafka(settings, storm_offer, 20_000))
    hello = results["hello_world"]["requests_per_s"]
    floor = results["bare_floor"]["requests_per_s"]
    bare_hello = results["bare_hello_world"]["requests_per_s"]
    reserved = results["reserve"]["ok_per_s"]
    sold_out = results["sold_out"]["conflict_per_s"]
    results["ratios"] = {
        "reservations_vs_hello_world": reserved / hello,
        "sold_out_vs_hello_world": sold_out / hello,
        "reservations_vs_bare_floor": reserved / floor,
        "sold_out_vs_bare_floor": sold_out / floor,
        # What aiohttp alone charges for the storm's request over a hello world: even a
        # handler that cost nothing could not bring sold-out answers above about this.
        "bare_floor_vs_bare_hello_world": floor / bare_hello,
        "claims_vs_reservations": results["coupon_claims"]["ok_per_s"] / reserved,
        "kafka_vs_confirm": results["orders"]["in_kafka_per_s"]
        / results["orders"]["confirmed_per_s"],
    }
    return results


async def _check(
    settings: StockSettings,
    connections: int,
    storm_offer: str,
    sold_out_offer: str,
    rounds: dict[str, list[dict[str, Any]]],
) -> dict[str, int]:
    """What the run claims, checked against Redis before anything is printed: the storm's
    units held equal the 201s counted (plus at most one press per connection per round
    that wrk sent but stopped waiting for when its time was up), no press was replayed, the
    sold-out offer gave nothing, and no request failed. Exits 1 saying what differs."""
    redis = connect(settings.redis_url)
    try:
        storm = await redis.hgetall(OfferKeys(storm_offer).offer)
        sold_out = await redis.hgetall(OfferKeys(sold_out_offer).offer)
    finally:
        await redis.aclose()
    created = sum(run["ok"] for run in rounds["reserve"])
    figures = {
        "reservations_counted": created,
        "units_held_in_redis": int(storm["held"]) + int(storm["sold"]),
        "reservations_in_redis": int(storm["reservations"]),
        "replayed": sum(run["replayed"] for run in rounds["reserve"] + rounds["sold_out"]),
        "failed": sum(run.get("other", 0) for runs in rounds.values() for run in runs),
        "sold_out_reservations_in_redis": int(sold_out["reservations"]),
    }
    held, made = figures["units_held_in_redis"], figures["reservations_in_redis"]
    figures["in_flight_when_wrk_stopped"] = made - created
    wrong = []
    if held != made or not 0 <= made - created <= connections * len(rounds["reserve"]):
        wrong.append(
            f"{created} presses answered 201 but Redis holds {held} units from {made}"
            f" reservations (at most {connections} per round may be unanswered when wrk stops)"
        )
    if figures["replayed"]:
        wrong.append(f"{figures['replayed']} presses were answered as replays (200)")
    if figures["failed"]:
        wrong.append(f"{figures['failed']} requests failed")
    if figures["sold_out_reservations_in_redis"] != 1:
        wrong.append("the sold-out offer reserved more than the one unit that sold it out")
    if wrong:
        sys.exit("The run does not add up, so no figures are printed:\n  " + "\n  ".join(wrong))
    return figures


def _bare(args: argparse.Namespace, tokens: list[str], tmp: Path, *, post: bool) -> dict[str, Any]:
    """A bare aiohttp app: its hello world, or the storm's request answered with a constant."""
    port = stack.free_port()
    bare = subprocess.Popen([sys.executable, "-m", "loadtests.bare_server", str(port)])
    try:
        deadline = time.monotonic() + 15
        while not stack.port_open(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not post:
            return _wrk(args, f"http://127.0.0.1:{port}/healthz")
        path = "/api/offers/1/reservations"
        return _wrk(args, f"http://127.0.0.1:{port}{path}", _script(tmp, tokens, path))
    finally:
        bare.terminate()
        bare.wait(10)


def _report(results: dict[str, Any], args: argparse.Namespace) -> None:
    m, orders, ratios = results["machine"], results["orders"], results["ratios"]
    rows = [
        ("hello world, GET /healthz", results["hello_world"], None),
        ("bare aiohttp, GET /healthz", results["bare_hello_world"], None),
        ("bare aiohttp, same request", results["bare_floor"], None),
        ("reservations (201)", results["reserve"], "ok_per_s"),
        ("sold out (409)", results["sold_out"], "conflict_per_s"),
        ("coupon claims (200)", results["coupon_claims"], "ok_per_s"),
    ]
    print()
    print(
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}, "
        f"Python {m['python']}, kernel {m['kernel']}"
    )
    print(
        f"{args.workers} server process(es) (uvloop); wrk -t1 -c{args.connections}; "
        f"{args.rounds} rounds of {args.seconds:.0f} s per phase, medians"
    )
    print(f"{'phase':<30}{'req/s':>9}{'answers/s':>11}{'p50':>10}{'p99':>10}{'errors':>8}")
    for label, figures, answers in rows:
        answered = f"{figures[answers]:.0f}" if answers else ""
        print(
            f"{label:<30}{figures['requests_per_s']:>9.0f}{answered:>11}"
            f"{figures['p50']:>10}{figures['p99']:>10}{figures.get('other', 0):>8}"
        )
    checked = results["checked"]
    print(
        f"Checked: {checked['reservations_counted']} presses answered 201; Redis holds "
        f"{checked['units_held_in_redis']} units from {checked['reservations_in_redis']} "
        f"reservations ({checked['in_flight_when_wrk_stopped']} sent when wrk's time ran out, "
        "never answered to it); no replays, no failed requests"
    )
    print(
        f"Orders: {orders['orders']} confirmed at {orders['confirmed_per_s']:.0f}/s, "
        f"all in Kafka at {orders['in_kafka_per_s']:.0f}/s "
        f"({orders['kafka_lag_after_last_confirm_s']:.2f} s after the last confirm)"
    )
    print(
        f"reservations / hello world = {ratios['reservations_vs_hello_world']:.2f} "
        f"(target 0.6); sold out / hello world = {ratios['sold_out_vs_hello_world']:.2f} "
        f"(target 0.9)"
    )
    print(
        f"reservations / bare floor = {ratios['reservations_vs_bare_floor']:.2f}; "
        f"sold out / bare floor = {ratios['sold_out_vs_bare_floor']:.2f}; "
        f"Kafka / confirm = {ratios['kafka_vs_confirm']:.2f}"
    )
    print(
        "bare aiohttp: the storm's request / its hello world = "
        f"{ratios['bare_floor_vs_bare_hello_world']:.2f} (what aiohttp itself charges for a "
        "POST with a token and a JSON body)"
    )
    print(
        f"coupon claims / reservations = {ratios['claims_vs_reservations']:.2f} (target 1.0); "
        f"{results['claims_checked']['claims_counted']} claims answered, "
        f"{results['claims_checked']['claims_in_redis']} in Redis"
    )
    if args.out:
        Path(args.out).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(f"Figures written to {args.out}")
