"""``livesale-bench groups``: group joins a second in a join storm, beside reservations a
second, through the stock keeper (the code the server runs, batching included) straight at
the local Redis, in one process.

Each phase runs ``--concurrency`` buyers for ``--seconds``; every press is a new viewer.
In the group phase two presses in three join the newest group of a group offer with a free
seat and one in three starts a group (a joiner who loses the last seat starts one too);
every seat is a hold of one unit and a seat in one Lua script, and every N-th seat forms a
group. In the reservation phase every press reserves one unit of a plain offer. Phases take
turns, round after round, so a busy moment on a shared machine hits both alike; each
figure is the median of its rounds. At the end it checks the group offers' books: every
formed group has exactly N members and units held equal seats taken.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import orjson
import uvloop

from server.redis_client import connect
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import OfferSpec
from stockkeeper.settings import StockSettings

from .measure import machine, median_run

BENCH_ROOM = "bench-groups"
DEFAULT_URL = "redis://127.0.0.1:16379/14"


def _spec(stock: int) -> OfferSpec:
    return OfferSpec(
        room_id=BENCH_ROOM,
        sku="GROUP",
        title="Group offer",
        unit_price=1000,
        currency="EUR",
        stock=stock,
        per_user_limit=1,
        hold_seconds=3600,
    )


async def _offer(keeper: StockKeeper, stock: int, size: int) -> str:
    offer = await keeper.create_offer(_spec(stock))
    await keeper.open_offer(offer.id, countdown_ms=0, window_ms=3_600_000)
    if size:
        reply = await keeper.groups.setup(
            offer.id, price=700, size=size, window_s=3600, open_groups=True
        )
        assert reply.outcome == "ok", reply
    return offer.id


async def _phase(keeper: StockKeeper, args: argparse.Namespace, groups: bool) -> dict[str, Any]:
    offer_id = await _offer(keeper, 10_000_000, args.size if groups else 0)
    run = uuid.uuid4().hex[:8]
    newest: list[str] = []
    done = 0
    refused = 0
    latencies: list[float] = []
    stop = time.monotonic() + args.seconds

    async def buyer(worker: int) -> None:
        nonlocal done, refused
        n = 0
        while time.monotonic() < stop:
            n += 1
            user, key = f"{run}-{worker}-{n}", f"k-{run}-{worker}-{n}"
            started = time.perf_counter()
            if not groups:
                ok = (await keeper.reserve(offer_id, user, 1, key)).outcome == "reserved"
            else:
                reply = None
                if newest and n % 3:
                    reply = await keeper.groups.join(newest[-1], user, "bench", key)
                if reply is None or reply.outcome != "joined":
                    reply = await keeper.groups.start(offer_id, user, "bench", key + "s")
                    if reply.outcome == "joined" and reply.group_id:
                        newest.append(reply.group_id)
                ok = reply.outcome == "joined"
            latencies.append(time.perf_counter() - started)
            done += ok
            refused += not ok

    began = time.monotonic()
    await asyncio.gather(*(buyer(w) for w in range(args.concurrency)))
    elapsed = time.monotonic() - began
    latencies.sort()
    result: dict[str, Any] = {
        "offer_id": offer_id,
        "per_s": round(done / elapsed),
        "seats_or_holds": done,
        "refused": refused,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }
    if groups:
        result["groups_started"] = len(newest)
    return result


async def _check(keeper: StockKeeper, offer_id: str, size: int) -> dict[str, Any]:
    """Every formed group has exactly ``size`` members; units held equal seats taken."""
    groups = await keeper.groups.of_offer(offer_id)
    offer = await keeper.get_offer(offer_id)
    seats = sum(len(g.members) for g in groups)
    formed = [g for g in groups if g.state == "formed"]
    problems = []
    if any(len(g.members) != size for g in formed):
        problems.append("a formed group does not have exactly N members")
    if offer.held != seats:
        problems.append(f"units held {offer.held} != seats {seats}")
    return {"groups": len(groups), "formed": len(formed), "seats": seats, "problems": problems}


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    redis = connect(args.redis_url, max_connections=max(64, args.concurrency))
    keeper = StockKeeper(redis, StockSettings(redis_url=args.redis_url))
    await keeper.start()
    try:
        await _phase(keeper, argparse.Namespace(**{**vars(args), "seconds": 1.0}), True)
        rounds: dict[str, list[dict[str, Any]]] = {"groups": [], "reservations": []}
        for n in range(1, args.rounds + 1):
            for phase in rounds:
                print(f"Round {n}/{args.rounds}: {phase}", flush=True)
                rounds[phase].append(await _phase(keeper, args, phase == "groups"))
        checks = [await _check(keeper, r["offer_id"], args.size) for r in rounds["groups"]]
    finally:
        await keeper.close()
        await redis.aclose()
    joins, holds = (
        median_run(rounds["groups"], "per_s"),
        median_run(rounds["reservations"], "per_s"),
    )
    return {
        "machine": machine(),
        "concurrency": args.concurrency,
        "group_size": args.size,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "group_joins": joins,
        "reservations": holds,
        "joins_vs_reservations": round(joins["per_s"] / max(holds["per_s"], 1), 2),
        "checks": checks,
        "all_rounds": rounds,
    }


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench groups`` and print (and write) its figures."""
    results = uvloop.run(_run(args))
    print(
        f"group joins/s {results['group_joins']['per_s']:,} "
        f"(p50 {results['group_joins']['p50_ms']} ms, p99 {results['group_joins']['p99_ms']} ms) "
        f"· reservations/s {results['reservations']['per_s']:,} "
        f"(p50 {results['reservations']['p50_ms']} ms, p99 {results['reservations']['p99_ms']} ms) "
        f"· ratio {results['joins_vs_reservations']}"
    )
    if args.out:
        with open(args.out, "wb") as out:
            out.write(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    problems = [p for check in results["checks"] for p in check["problems"]]
    if problems:
        print("Books do not add up:", *problems, sep="\n  ")
        raise SystemExit(1)
    print("Books check: every formed group has exactly N members; units held = seats.")
