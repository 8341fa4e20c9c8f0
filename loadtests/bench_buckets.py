"""``livesale-bench buckets``: one hot offer on the local 3-master Redis Cluster, with its
stock in one slot and split over K buckets, measured in one run.

Several generator processes each drive a stock keeper (the same code the server runs,
batching and merging included) straight at the cluster. Every press is a new buyer, so the
stock never runs out and every press takes a unit. For each setting the command reports:

- reservations a second and the latency of one reservation (p50, p99);
- each master's Redis CPU over the phase, so you see whether one shard carries the offer;
- then a sell-out phase with buckets: a small stock, many buyers, and units moving from
  bucket to bucket at the end. It checks that every unit is held exactly once.

Settings take turns, round after round, so a busy moment on a shared machine hits both
alike; each figure is the median of its rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, cast

import orjson
import uvloop
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from deploy import stack
from server.redis_client import connect
from stockkeeper.errors import StockUnavailable
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys, bucket_id
from stockkeeper.models import OfferSpec
from stockkeeper.settings import StockSettings

from .measure import machine, median_run

BENCH_ROOM = "bench-buckets"


def _spec(stock: int, buckets: int) -> OfferSpec:
    return OfferSpec(
        room_id=BENCH_ROOM,
        sku="HOT",
        title="Hot offer",
        unit_price=100,
        currency="EUR",
        stock=stock,
        per_user_limit=1,
        hold_seconds=3600,
        buckets=buckets,
    )


async def _open_offer(url: str, stock: int, buckets: int) -> str:
    redis = connect(url)
    keeper = StockKeeper(redis, StockSettings(redis_url=url))
    try:
        await keeper.start()
        offer = await keeper.create_offer(_spec(stock, buckets))
        await keeper.open_offer(offer.id, countdown_ms=0, window_ms=3_600_000)
        return offer.id
    finally:
        await keeper.close()
        await redis.aclose()


def _drive(url: str, offer_id: str, seconds: float, concurrency: int, name: str) -> dict[str, Any]:
    """One generator process: ``concurrency`` buyers pressing back to back."""
    return uvloop.run(_presses(url, offer_id, seconds, concurrency, name))


async def _presses(
    url: str, offer_id: str, seconds: float, concurrency: int, name: str
) -> dict[str, Any]:
    redis = connect(url)
    keeper = StockKeeper(redis, StockSettings(redis_url=url))
    await keeper.start()
    outcomes: dict[str, int] = {}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def buyer(n: int) -> None:
        press = 0
        while time.monotonic() < deadline:
            press += 1
            start = time.perf_counter()
            try:
                result = await keeper.reserve(offer_id, f"{name}-{n}-{press}", 1, "press")
                outcome: str = result.outcome
            except StockUnavailable:
                # What a buyer gets as a 503 to retry; counted, and the run goes on.
                outcome = "stock_unavailable"
            latencies.append(time.perf_counter() - start)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    try:
        await asyncio.gather(*(buyer(n) for n in range(concurrency)))
    finally:
        moved = keeper.buckets.units_moved
        await keeper.close()
        await redis.aclose()
    return {"outcomes": outcomes, "latencies": latencies[::10], "units_moved": moved}


async def _cpu_by_master(ports: list[int]) -> dict[int, float]:
    seconds: dict[int, float] = {}
    for port in ports:
        node = Redis(port=port, decode_responses=True)
        info = await node.info("cpu")
        role = (await node.info("replication"))["role"]
        await node.aclose()
        if role == "master":
            seconds[port] = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return seconds


def _slots_of(url: str, offer_id: str, buckets: int) -> dict[str, int]:
    """The master port serving each bucket of the offer."""

    async def find() -> dict[str, int]:
        redis = cast(RedisCluster, connect(url))
        try:
            await redis.initialize()
            ports: dict[str, int] = {}
            for i in range(buckets):
                node = redis.get_node_from_key(OfferKeys(bucket_id(offer_id, i)).offer)
                if node is not None:
                    ports[bucket_id(offer_id, i)] = int(node.port)
            return ports
        finally:
            await redis.aclose()

    return asyncio.run(find())


def _phase(
    args: argparse.Namespace, url: str, ports: list[int], buckets: int, pool: ProcessPoolExecutor
) -> dict[str, Any]:
    offer_id = asyncio.run(_open_offer(url, 10_000_000, buckets))
    before = asyncio.run(_cpu_by_master(ports))
    started = time.monotonic()
    futures = [
        pool.submit(_drive, url, offer_id, args.seconds, args.concurrency, f"g{i}-{offer_id}")
        for i in range(args.generators)
    ]
    runs = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    after = asyncio.run(_cpu_by_master(ports))
    reserved = sum(r["outcomes"].get("reserved", 0) for r in runs)
    latencies = sorted(x for r in runs for x in r["latencies"])
    cpu = {str(port): round(100 * (after[port] - before[port]) / elapsed, 1) for port in after}
    return {
        "buckets": buckets,
        "offer_id": offer_id,
        "masters_of_buckets": sorted(set(_slots_of(url, offer_id, buckets).values())),
        "reservations_per_s": round(reserved / args.seconds),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 2),
        "redis_cpu_percent_by_master": cpu,
        "busiest_master_cpu_percent": max(cpu.values()),
        "other_outcomes": {k: v for r in runs for k, v in r["outcomes"].items() if k != "reserved"},
    }


def _sell_out(args: argparse.Namespace, url: str, pool: ProcessPoolExecutor) -> dict[str, Any]:
    """A small stock over the buckets, far more presses than units: every unit must end up
    held exactly once, however the units moved between buckets."""
    offer_id = asyncio.run(_open_offer(url, args.sell_out_stock, args.buckets))
    futures = [
        pool.submit(_drive, url, offer_id, 3.0, args.concurrency, f"s{i}-{offer_id}")
        for i in range(args.generators)
    ]
    runs = [f.result() for f in futures]
    reserved = sum(r["outcomes"].get("reserved", 0) for r in runs)
    sold_out = sum(r["outcomes"].get("sold_out", 0) for r in runs)

    async def books() -> dict[str, int]:
        redis = connect(url)
        keeper = StockKeeper(redis, StockSettings(redis_url=url))
        try:
            offer = await keeper.get_offer(offer_id)
            return {"total": offer.total, "available": offer.available, "held": offer.held}
        finally:
            await redis.aclose()

    level = asyncio.run(books())
    return {
        "buckets": args.buckets,
        "stock": args.sell_out_stock,
        "reserved": reserved,
        "sold_out_answers": sold_out,
        "units_moved_between_buckets": sum(r["units_moved"] for r in runs),
        "books": level,
        "every_unit_held_once": reserved == args.sell_out_stock == level["held"]
        and level["available"] == 0,
    }


async def _flush(url: str) -> None:
    redis = connect(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench buckets`` and print (and write) its figures."""
    cluster = stack.up_cluster()
    url = cluster.url
    ports = list(cluster.ports)
    # The local cluster is scratch space for tests and benchmarks. Each phase leaves
    # hundreds of thousands of holds, and a big data set makes every append-only-file
    # rewrite a multi-second fork on a small machine: start empty, leave it empty.
    asyncio.run(_flush(url))
    rounds: dict[int, list[dict[str, Any]]] = {1: [], args.buckets: []}
    with ProcessPoolExecutor(args.generators) as pool:
        print("Warming up...", flush=True)
        _phase(argparse.Namespace(**{**vars(args), "seconds": 1.0}), url, ports, 1, pool)
        for n in range(1, args.rounds + 1):
            for buckets in rounds:
                print(f"Round {n}/{args.rounds}: {buckets} bucket(s)", flush=True)
                rounds[buckets].append(_phase(args, url, ports, buckets, pool))
        print("Sell-out check", flush=True)
        sell_out = _sell_out(args, url, pool)
    asyncio.run(_flush(url))
    one, split = (median_run(rounds[k], "reservations_per_s") for k in rounds)
    results: dict[str, Any] = {
        "machine": machine(),
        "cluster_masters": len(ports),
        "generators": args.generators,
        "concurrency_per_generator": args.concurrency,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "one_slot": one,
        "buckets": split,
        "ratios": {
            "reservations_buckets_vs_one_slot": round(
                split["reservations_per_s"] / one["reservations_per_s"], 2
            ),
            "busiest_master_cpu_buckets_vs_one_slot": round(
                split["busiest_master_cpu_percent"] / one["busiest_master_cpu_percent"], 2
            ),
        },
        "sell_out": sell_out,
        "all_rounds": {str(k): v for k, v in rounds.items()},
    }
    _report(results, args)
    if not sell_out["every_unit_held_once"]:
        sys.exit("The sell-out check failed: units were not held exactly once.")


def _report(results: dict[str, Any], args: argparse.Namespace) -> None:
    one, split, ratios = results["one_slot"], results["buckets"], results["ratios"]
    print()
    print(f"Machine: {results['machine']['cores']} cores, {results['machine']['memory_gib']} GiB")
    split_label = f"{split['buckets']} buckets"
    print(f"{'':24}{'one slot':>14}{split_label:>14}")
    for label, key in (
        ("reservations/s", "reservations_per_s"),
        ("p50 ms", "p50_ms"),
        ("p99 ms", "p99_ms"),
        ("busiest master CPU %", "busiest_master_cpu_percent"),
    ):
        print(f"{label:24}{one[key]:>14}{split[key]:>14}")
    print(f"{'masters used':24}{len(one['masters_of_buckets']):>14}", end="")
    print(f"{len(split['masters_of_buckets']):>14}")
    print(f"Ratios: {ratios}")
    sell_out = results["sell_out"]
    print(
        f"Sell-out: {sell_out['reserved']} of {sell_out['stock']} units reserved, "
        f"{sell_out['units_moved_between_buckets']} moved between buckets, "
        f"every unit held once: {sell_out['every_unit_held_once']}"
    )
    if args.out:
        with open(args.out, "wb") as f:
            f.write(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(f"Written to {args.out}")
