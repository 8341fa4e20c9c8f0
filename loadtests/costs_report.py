"""The report of ``livesale-bench costs``: its figures printed for a reader, and written
as JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

#: The JSON key of the per-request figures, by the unit they are in.
PER_REQUEST = {"us": "cpu_us_per_request", "instructions": "instructions_per_request"}


def _amount(value: float, unit: str) -> str:
    """A per-request figure as the report prints it."""
    return f"{value:>8.1f} us" if unit == "us" else f"{value:>10,.0f} instructions"


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the figures (and write them to ``--out``); exit 1 when the run found a problem."""
    unit = results["unit"]
    m, cost, ratios = results["machine"], results[PER_REQUEST[unit]], results["ratios"]
    print()
    print(f"Machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}")
    what = "Server CPU" if unit == "us" else "Instructions the server executed (callgrind)"
    print(
        f"{what} per request, in process (no sockets); {args.connections} connections, "
        f"medians of {args.rounds} rounds"
    )
    labels = {
        "bare_hello_world": "bare aiohttp, GET /healthz",
        "bare_same_request": "bare aiohttp, the storm's POST",
        "bare_waiting": "bare aiohttp, the same POST waiting for Redis",
        "bare_reserving": "bare aiohttp, the same POST reserving",
        "hello_world": "livesale, GET /healthz",
        "sold_out": "livesale, press on a sold-out offer",
        "reservation": "livesale, press that reserves",
        "sold_out_without_replay_lookup": "what if: sold out without the replay lookup",
        "reservation_without_buyer_record": "what if: reserves without the buyer record",
        "keeper_sold_out": "stock keeper alone, press on a sold-out offer",
        "keeper_reservation": "stock keeper alone, press that reserves",
        "tasks_alone": "a task per press, no keeper (taken off the two above)",
    }
    for name, label in labels.items():
        print(f"{label:<48}{_amount(cost[name], unit)}")
    print(
        f"as rates: sold out / hello world = {ratios['sold_out_vs_hello_world']:.2f} "
        f"(target 0.9); reservations / hello world = "
        f"{ratios['reservation_vs_hello_world']:.2f} (target 0.6)"
    )
    print(
        "bare aiohttp, the storm's POST / its hello world = "
        f"{ratios['bare_same_request_vs_bare_hello_world']:.2f}"
    )
    print(
        f"hello world / bare aiohttp's = {ratios['hello_world_vs_bare_hello_world']:.2f} "
        "(target >= 0.9)"
    )
    print(
        f"{'CPU' if unit == 'us' else 'Instructions'} against aiohttp's own handling of the "
        "same POST (the floor):"
    )
    targets = {
        "bare_waiting": " (one round trip a moment: no press costs less)",
        "bare_reserving": " (the script call alone: no reserving press costs less)",
        "sold_out": " (target <= 1.2)",
        "reservation": " (target <= 1.8)",
    }
    for name in (
        "bare_waiting",
        "bare_reserving",
        "sold_out",
        "sold_out_without_replay_lookup",
        "reservation",
        "reservation_without_buyer_record",
    ):
        print(f"  {labels[name]:<48}{ratios[f'{name}_cost_vs_floor']:>6.2f}{targets.get(name, '')}")
    print(
        "The stock keeper alone (no HTTP, no socket) against what each target leaves it:\n"
        f"  sold out: {ratios['keeper_sold_out_vs_floor']:.2f} x the floor "
        "(the target leaves 0.20 for everything above aiohttp)\n"
        f"  reserving: {ratios['keeper_reservation_vs_floor']:.2f} x the floor (leaves 0.80)\n"
        f"  reserving: {ratios['keeper_reservation_vs_hello_world']:.2f} x a hello world "
        "(a socket press at 0.9 of its rate leaves 1.11 for keeper, frame and answer)"
    )
    if results["busy_share"]:
        print("Busy share of the wall time while measured (the rest: waiting for Redis):")
        for name in ("bare_same_request", "bare_waiting", "bare_reserving", "reservation"):
            print(f"  {labels[name]:<48}{results['busy_share'][name]:>6.2f}")
    print("Redis round trips / script calls per 100 presses (counted):")
    for name, sent in results["redis_per_100_presses"].items():
        print(f"  {labels[name]:<48}{sent['round_trips']:>6.2f} / {sent['calls']:.2f}")
    if args.out:
        Path(args.out).write_bytes(
            orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
        )
        print(f"Figures written to {args.out}")
    for problem in results["problems"]:
        print(f"FAIL {problem}")
    if results["problems"]:
        sys.exit(1)
    print(
        "Checked: every case answered as it should, and Redis holds the "
        f"{results['units_held_by_reservation_case']} units the reservations answered 201 for"
    )
