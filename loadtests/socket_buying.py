"""The buying half of ``livesale-bench room``: presses over room sockets (one or more in
flight per socket) and pings over the same sockets, taking turns with wrk's HTTP hello
world on the same server, with the server's CPU per answer for each."""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import statistics
import subprocess
import time
from typing import Any

import orjson
import uvloop

from server.tokens import mint_viewer_token

from .measure import cpu_seconds, median_run
from .room_clients import Totals, Viewer, open_viewers

RESERVE_RESULT = b'"type":"reserve_result"'
PONG = b'"type":"pong"'


async def _socket_reservations(
    args: argparse.Namespace, port: int, secret: str, offer_id: str
) -> dict[str, Any]:
    """Presses over ``--buyers`` sockets, ``--window`` in flight on each."""
    figures = await _socket_messages(args, port, secret, offer_id, ping=False)
    return {"reservations_per_s": figures.pop("per_s"), **figures}


async def _socket_pings(
    args: argparse.Namespace, port: int, secret: str, offer_id: str
) -> dict[str, Any]:
    """Pings over the same sockets: a message in and an answer out with no work between,
    what any socket message costs the server at least (a press costs this and the stock
    keeper's own work)."""
    figures = await _socket_messages(args, port, secret, offer_id, ping=True)
    return {"pings_per_s": figures.pop("per_s"), **figures}


async def _socket_messages(
    args: argparse.Namespace, port: int, secret: str, offer_id: str, *, ping: bool
) -> dict[str, Any]:
    totals = Totals()
    # Every round presses with new idempotency keys: a replayed key would be a cheaper answer.
    run = secrets.token_hex(3)
    buyers: list[Viewer] = []
    for i in range(args.buyers):
        # New viewers every round: each may reserve up to the offer's per-person limit, and a
        # press past it would be answered limit_reached, a cheaper answer than a reservation.
        token = mint_viewer_token(secret, f"ws-buyer-{run}-{i}", f"Buyer {i}")
        [viewer] = await open_viewers(
            port,
            f"/rooms/bench-buy/live?token={token}",
            1,
            totals,
            pattern=PONG if ping else RESERVE_RESULT,
        )
        buyers.append(viewer)
    await asyncio.sleep(0.5)
    stop = time.monotonic() + args.seconds
    ping_frame = orjson.dumps({"type": "ping"})

    sent_by: list[int] = [0] * len(buyers)

    async def buy(n: int, viewer: Viewer) -> None:
        sent = 0
        while time.monotonic() < stop and (ping or sent + args.window <= PER_VIEWER_LIMIT):
            viewer.want = viewer.replies + args.window
            viewer.waiter = asyncio.get_running_loop().create_future()
            for _ in range(args.window):
                sent += 1
                viewer.send_text(
                    ping_frame
                    if ping
                    else orjson.dumps(
                        {
                            "type": "reserve",
                            "offer_id": offer_id,
                            "quantity": 1,
                            "idempotency_key": f"ws-{run}-{n}-{sent:09d}",
                        }
                    )
                )
            await viewer.waiter
        sent_by[n] = sent

    begin = time.monotonic()
    await asyncio.gather(*(buy(n, v) for n, v in enumerate(buyers)))
    elapsed = time.monotonic() - begin
    for viewer in buyers:
        if viewer.transport is not None:
            viewer.transport.close()
    return {
        "buyers": args.buyers,
        "in_flight_each": args.window,
        "per_s": round(totals.replies / elapsed),
        "answers": totals.replies,
        "sent": sum(sent_by),
        "seconds": round(elapsed, 2),
    }


#: The buying offer's per-person limit (the most the API allows): a buyer stops there.
PER_VIEWER_LIMIT = 1000


def _hello_world(base: str, seconds: float) -> tuple[float, int]:
    """wrk's requests a second, and how many requests it made."""
    out = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{round(seconds)}s", f"{base}/healthz"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    made = re.search(r"(\d+) requests in", out)
    if rate is None or made is None:
        raise RuntimeError(f"wrk printed no figures: {out}")
    return float(rate.group(1)), int(made.group(1))


def buying_rounds(
    args: argparse.Namespace, base: str, port: int, secret: str, offer_id: str, pid: int
) -> dict[str, Any]:
    """HTTP hello world and socket reservations take turns for ``--rounds`` rounds, so a
    busy moment on a shared machine hits both alike; each figure is its median round."""
    hello_rounds: list[dict[str, Any]] = []
    ping_rounds: list[dict[str, Any]] = []
    buying_rounds: list[dict[str, Any]] = []
    for n in range(1, args.rounds + 1):
        print(f"Round {n}/{args.rounds}: hello world over HTTP (wrk)", flush=True)
        cpu_before = cpu_seconds(pid)
        rate, made = _hello_world(base, args.seconds)
        hello_cpu = (cpu_seconds(pid) - cpu_before) / made
        hello_rounds.append(
            {"requests_per_s": round(rate), "server_cpu_us_per_request": round(1e6 * hello_cpu, 1)}
        )
        print(f"Round {n}/{args.rounds}: pings over {args.buyers} sockets", flush=True)
        cpu_before = cpu_seconds(pid)
        pings = uvloop.run(_socket_pings(args, port, secret, offer_id))
        pings["server_cpu_us_per_ping"] = round(
            1e6 * (cpu_seconds(pid) - cpu_before) / max(pings["answers"], 1), 1
        )
        ping_rounds.append(pings)
        print(f"Round {n}/{args.rounds}: reservations over {args.buyers} sockets", flush=True)
        cpu_before = cpu_seconds(pid)
        buying = uvloop.run(_socket_reservations(args, port, secret, offer_id))
        presses = buying["reservations_per_s"] * buying["seconds"]
        buying["server_cpu_us_per_reservation"] = round(
            1e6 * (cpu_seconds(pid) - cpu_before) / max(presses, 1), 1
        )
        buying_rounds.append(buying)
    hello = median_run(hello_rounds, "requests_per_s")["requests_per_s"]
    buying = median_run(buying_rounds, "reservations_per_s")
    # The rates move with the shared machine's load; CPU per request moves much less.
    hello_us = statistics.median(r["server_cpu_us_per_request"] for r in hello_rounds)
    buying_us = statistics.median(r["server_cpu_us_per_reservation"] for r in buying_rounds)
    ping_us = statistics.median(r["server_cpu_us_per_ping"] for r in ping_rounds)
    return {
        **buying,
        "http_hello_world_per_s": hello,
        "ratio": round(buying["reservations_per_s"] / hello, 2),
        "http_hello_world_cpu_us_per_request": hello_us,
        "median_cpu_us_per_reservation": buying_us,
        "cpu_ratio": round(hello_us / buying_us, 2),
        "pings_per_s": median_run(ping_rounds, "pings_per_s")["pings_per_s"],
        "median_cpu_us_per_ping": ping_us,
        "ping_cpu_ratio": round(hello_us / ping_us, 2),
        "rounds": args.rounds,
        "all_rounds": {
            "http_hello_world": hello_rounds,
            "socket_pings": ping_rounds,
            "socket_reservations": buying_rounds,
        },
    }
