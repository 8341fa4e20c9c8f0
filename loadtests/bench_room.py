"""``livesale-bench room``: one server process holding a room full of viewers.

1. Broadcast: ``--viewers`` WebSocket viewers join one room, then events are published into
   it at ``--rate`` a second for ``--seconds``. Reports connections held, server memory per
   connection, events delivered per second, and publish-to-receive delay p50/p99 (from each
   event's server publish time, on every 50th viewer).
2. Buying over sockets: ``--buyers`` signed-in sockets send reservations (``--window`` in
   flight each) for ``--seconds``; compared with the HTTP hello-world rate measured by wrk
   in the same run, the two taking turns for ``--rounds`` rounds (medians).

Both clients are raw sockets that count events with a byte search (loadtests/room_clients.py),
so the load generator takes as little of the two cores as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import secrets
import shutil
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import uvloop

from deploy import stack
from server.process import raise_open_files
from server.redis_client import connect
from server.room.publisher import RoomPublisher
from server.room.settings import RoomSettings
from stockkeeper.keys import OfferKeys
from stockkeeper.settings import StockSettings

from .measure import check_open_files, cpu_seconds, machine
from .room_clients import Totals, Viewer, hold_quiet_viewers, open_viewers
from .server_process import fresh_database, open_offer_now, server_process
from .socket_buying import PER_VIEWER_LIMIT, buying_rounds

BENCH_DB = 13
#: One viewer in this many records each event's delay.
SAMPLE_EVERY = 50
#: How often the counted-only viewers read their sockets.
QUIET_SWEEP_S = 0.25
#: Viewers joining at once, timed and quiet together.
JOIN_GROUP = 500


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _broadcast(
    args: argparse.Namespace, port: int, metrics_port: int, pid: int, redis_url: str
) -> dict[str, Any]:
    path = "/rooms/bench/live"
    timed = args.viewers // SAMPLE_EVERY
    quiet = 0 if args.eager_viewers else args.viewers - timed
    totals = Totals()
    rss_before = _rss_kib(pid)
    started = time.monotonic()
    # The counted-only viewers live in a process of their own (room_clients.QuietViewers);
    # the timed ones read here as each frame arrives. They join in turns, one timed viewer
    # for every SAMPLE_EVERY - 1 quiet ones, so that the timed ones are spread through the
    # room's viewers, and so through the server's rounds.
    pipe, child_end = multiprocessing.Pipe()
    holder = multiprocessing.get_context("spawn").Process(
        target=hold_quiet_viewers,
        args=(port, path, quiet, JOIN_GROUP - JOIN_GROUP // SAMPLE_EVERY, QUIET_SWEEP_S, child_end),
    )
    holder.start()
    loop = asyncio.get_running_loop()
    viewers: list[Viewer] = []
    while True:
        said = await loop.run_in_executor(None, pipe.recv)
        if "open" in said:
            quiet_open = said["open"]
            break
        turn = min(JOIN_GROUP // SAMPLE_EVERY, timed - len(viewers))
        viewers += await open_viewers(port, path, turn, totals, sample_every=1)
        pipe.send("joined")
    if quiet:
        viewers += await open_viewers(port, path, timed - len(viewers), totals, sample_every=1)
    else:
        viewers = await open_viewers(port, path, args.viewers, totals, sample_every=SAMPLE_EVERY)
    connect_s = time.monotonic() - started
    await asyncio.sleep(2)
    rss_after = _rss_kib(pid)
    redis = connect(redis_url, decode=False)
    publisher = RoomPublisher(redis, RoomSettings())
    totals.events, totals.latencies_ms = 0, []
    interval = 1 / args.rate
    clients = (os.getpid(), holder.pid or 0)
    cpu_before = cpu_seconds(pid), sum(map(cpu_seconds, clients))
    rounds_before = _histogram(metrics_port, "livesale_room_fanout_round_seconds")
    begin = time.monotonic()
    published = 0
    while time.monotonic() - begin < args.seconds:
        await publisher.publish("bench", "tick", {"n": published})
        published += 1
        # A steady rate: sleep until this event's slot, whatever the publish took.
        await asyncio.sleep(max(0.0, begin + published * interval - time.monotonic()))
    await asyncio.sleep(1.0)
    elapsed = time.monotonic() - begin
    server_cpu = (cpu_seconds(pid) - cpu_before[0]) / elapsed
    clients_cpu = (sum(map(cpu_seconds, clients)) - cpu_before[1]) / elapsed
    rounds_after = _histogram(metrics_port, "livesale_room_fanout_round_seconds")
    rounds = rounds_after[0] - rounds_before[0]
    round_s = rounds_after[1] - rounds_before[1]
    pipe.send("stop")
    quiet_totals = await loop.run_in_executor(None, pipe.recv)
    holder.join()
    held = quiet_totals["open"] + sum(
        1 for v in viewers if v.transport is not None and not v.transport.is_closing()
    )
    for viewer in viewers:
        if viewer.transport is not None:
            viewer.transport.close()
    await redis.aclose()
    latencies = sorted(totals.latencies_ms) or [0.0]
    delivered = totals.events + quiet_totals["events"]
    return {
        "viewers": args.viewers,
        "viewers_timed": len(viewers) if quiet else len(viewers) // SAMPLE_EVERY,
        "viewers_reading": "sweeps" if quiet else "eager",
        "connections_held": held,
        "connections_opened": len(viewers) + quiet_open,
        "connect_seconds": round(connect_s, 1),
        "server_rss_mib_before": round(rss_before / 1024, 1),
        "server_rss_mib_with_viewers": round(rss_after / 1024, 1),
        "memory_kib_per_connection": round((rss_after - rss_before) / args.viewers, 1),
        "events_published": published,
        "events_delivered": delivered,
        "expected_deliveries": published * args.viewers,
        "deliveries_per_s": round(delivered / elapsed),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "latency_samples": len(totals.latencies_ms),
        "server_cpu_share": round(server_cpu, 2),
        "viewers_cpu_share": round(clients_cpu, 2),
        "fan_out_rounds": rounds,
        "fan_out_round_ms_mean": round(1000 * round_s / max(rounds, 1), 1),
    }


def _histogram(port: int, name: str) -> tuple[int, float]:
    """How many observations the server's histogram ``name`` holds, and their sum."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    count = re.search(rf"^{name}_count (\S+)$", text, re.MULTILINE)
    total = re.search(rf"^{name}_sum (\S+)$", text, re.MULTILINE)
    if count is None or total is None:
        raise RuntimeError(f"The server's /metrics has no {name}")
    return int(float(count.group(1))), float(total.group(1))


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench room`` and print (and write) its figures."""
    if not shutil.which("wrk"):
        stack.apt_install("wrk")
    redis_server = stack.local_redis()
    if not redis_server.ping():
        redis_server.start()
    # Inherited by the server and the clients' processes.
    check_open_files(
        raise_open_files(args.viewers + args.buyers + 4096), args.viewers + args.buyers
    )
    # The configured Redis (by default the local one just started).
    redis_url = f"{StockSettings.from_env().redis_url.rsplit('/', 1)[0]}/{BENCH_DB}"
    port, metrics_port = stack.free_ports(2)
    secret = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "LIVESALE_REDIS_URL": redis_url,
        "LIVESALE_VIEWER_SECRET": secret,
        "LIVESALE_PORT": str(port),
        # The fan-out round histogram is read from the server's metrics port.
        "LIVESALE_METRICS_PORT": str(metrics_port),
        "LIVESALE_RUN_RELAY": "0",
        "LIVESALE_LOG_LEVEL": "WARNING",
        # The lean clients do not answer pings; the run is shorter than this.
        "LIVESALE_WS_HEARTBEAT_S": "600",
        "LIVESALE_ROOM_BATCH_MS": str(args.batch_ms),
    }
    host_token = asyncio.run(fresh_database(redis_url))
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"machine": machine()}
    with server_process(env) as server:
        print(f"Broadcast: {args.viewers} viewers, {args.rate} events/s", flush=True)
        results["broadcast"] = uvloop.run(
            _broadcast(args, port, metrics_port, server.pid, redis_url)
        )
        offer_id = open_offer_now(base, host_token, "bench-buy", "WS", limit=PER_VIEWER_LIMIT)
        results["socket_buying"] = buying_rounds(args, base, port, secret, offer_id, server.pid)
    results["checked"] = asyncio.run(_check(results, redis_url, offer_id))
    _report(results, args)


async def _check(results: dict[str, Any], redis_url: str, offer_id: str) -> dict[str, int]:
    """What the run claims, checked before anything is printed: every viewer stayed
    connected, every event reached every viewer, and Redis made exactly the reservations
    the sockets were answered, and every message sent over the sockets was answered once.
    Exits 1 saying what differs."""
    broadcast = results["broadcast"]
    rounds = results["socket_buying"]["all_rounds"]["socket_reservations"]
    answered = sum(r["answers"] for r in rounds)
    redis = connect(redis_url)
    try:
        offer = await redis.hgetall(OfferKeys(offer_id).offer)
    finally:
        await redis.aclose()
    made = int(offer.get("reservations", 0))
    wrong = []
    if broadcast["connections_held"] != broadcast["viewers"]:
        wrong.append(f"{broadcast['connections_held']} of {broadcast['viewers']} viewers held")
    if broadcast["events_delivered"] != broadcast["expected_deliveries"]:
        wrong.append(
            f"{broadcast['events_delivered']} of {broadcast['expected_deliveries']} events"
            " delivered"
        )
    if made != answered:
        wrong.append(f"the sockets were answered {answered} presses but Redis made {made}")
    for phase, phase_rounds in results["socket_buying"]["all_rounds"].items():
        if phase == "http_hello_world":
            continue
        sent = sum(r["sent"] for r in phase_rounds)
        replies = sum(r["answers"] for r in phase_rounds)
        if sent != replies:
            wrong.append(f"{phase}: {sent} messages sent, {replies} answers counted")
    if wrong:
        sys.exit("The run does not add up, so no figures are printed:\n  " + "\n  ".join(wrong))
    return {"socket_presses_answered": answered, "reservations_in_redis": made}


def _report(results: dict[str, Any], args: argparse.Namespace) -> None:
    b, s, m = results["broadcast"], results["socket_buying"], results["machine"]
    print()
    print(f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}")
    print(
        f"Viewers held: {b['connections_held']} of {b['viewers']} "
        f"(connected in {b['connect_seconds']} s)"
    )
    print(
        f"Server memory: {b['server_rss_mib_before']} MiB -> "
        f"{b['server_rss_mib_with_viewers']} MiB, {b['memory_kib_per_connection']} KiB "
        f"per connection"
    )
    print(
        f"Delivered {b['events_delivered']} of {b['expected_deliveries']} events: "
        f"{b['deliveries_per_s']} deliveries/s (target 100,000)"
    )
    checked = results["checked"]
    print(
        f"Checked: every viewer held, every event delivered to each; "
        f"{checked['socket_presses_answered']} socket presses answered and "
        f"{checked['reservations_in_redis']} reservations in Redis"
    )
    print(
        f"Publish-to-receive: p50 {b['latency_ms_p50']} ms, p99 {b['latency_ms_p99']} ms "
        f"(target p99 <= 250 ms; {b['latency_samples']} samples)"
    )
    print(
        f"CPU during the broadcast: server {b['server_cpu_share']:.0%} of a core, "
        f"the viewers' client {b['viewers_cpu_share']:.0%}; {b['fan_out_rounds']} fan-out "
        f"rounds over the room, {b['fan_out_round_ms_mean']} ms each on average"
    )
    print(
        f"Reservations over sockets: {s['reservations_per_s']}/s vs HTTP hello world "
        f"{s['http_hello_world_per_s']}/s = {s['ratio']} (target 1.0; medians of "
        f"{s['rounds']} rounds)"
    )
    print(
        f"Server CPU: {s['median_cpu_us_per_reservation']} us per socket reservation, "
        f"{s['http_hello_world_cpu_us_per_request']} us per hello world: "
        f"{s['cpu_ratio']} reservations per hello world at equal CPU"
    )
    print(
        f"Socket pings (a message in, an answer out, no work): {s['pings_per_s']}/s, "
        f"{s['median_cpu_us_per_ping']} us each: {s['ping_cpu_ratio']} per hello world at "
        "equal CPU; a press costs a ping and the stock keeper's work "
        "(`livesale-bench costs`: stock keeper alone)"
    )
    if args.out:
        Path(args.out).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(f"Figures written to {args.out}")
