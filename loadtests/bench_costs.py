"""``livesale-bench costs``: the server's CPU per request, without the network.

``livesale-bench reserve`` measures rates over real sockets, so the kernel's work and a load
generator sharing the cores move its figures by 20% from run to run. This command asks a
narrower question with far less noise: how much of one core does each kind of request take
inside the server process? It feeds raw HTTP requests straight into aiohttp's protocol
objects (no sockets: the responses go to an in-memory transport) and divides the process's
CPU time by the requests answered.

Cases, taking turns for ``--rounds`` rounds (each figure is the median round):

- a bare aiohttp app (no middleware, two routes): ``GET /healthz``, and the purchase storm's
  exact ``POST`` answered with a constant (the floor); the same ``POST`` waiting for one
  Redis round trip a moment before it answers (``waiting_floor.py``: what waiting itself
  costs, which no press can avoid); and the same ``POST`` making the reservation's merged
  script call and answering the hold, none of the service's other work
  (``reserving_floor.py``: the least a reserving press can cost on this stack);
- the livesale app: ``GET /healthz`` (the hello world of ``livesale-bench reserve``), a press on a
  sold-out offer, and a press that reserves a unit (on the local Redis: the app's batching
  merges the presses of ``--connections`` buyers, as in a storm);
- the stock keeper alone, the same two presses without HTTP (``keeper_costs.py``): what no
  transport can make cheaper, against what each target leaves above aiohttp's own cost.

Redis's own CPU is not counted; it runs in its own process.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from aiohttp import web
from redis.asyncio import Redis

from deploy import stack
from server.app import create_app
from server.appkeys import KEEPER, ORDERS, VIEWER_TOKENS
from server.process import tune_gc
from server.settings import Settings
from server.tokens import mint_viewer_token
from stockkeeper.models import OfferSpec
from stockkeeper.recorder import NoRecorder
from stockkeeper.settings import StockSettings

from .bare_server import bare_app
from .costs_report import PER_REQUEST, report
from .instructions import DUMPS_ENV, Meter, meter, run_counted
from .keeper_costs import keeper_per_press, sold_out_from_memory, what_if
from .measure import machine
from .memory_transport import Answers, MemoryTransport
from .reserving_floor import RESERVING_PATH, add_reserving_route
from .server_process import fresh_database
from .waiting_floor import WAITING_PATH, add_waiting_route

BENCH_DB = 13
SECRET = "bench-costs-viewer-secret-not-for-production"


#: The only answer each case may give; anything else measures the wrong path.
EXPECTED_STATUS = {
    "bare_hello_world": 200,
    "bare_same_request": 409,
    "bare_waiting": 409,
    "bare_reserving": 201,
    "hello_world": 200,
    "sold_out": 409,
    "sold_out_without_replay_lookup": 409,
    "reservation": 201,
    "reservation_without_buyer_record": 201,
    "keeper_sold_out": 409,
    "keeper_reservation": 201,
    "tasks_alone": 200,
}

RequestMaker = Callable[[int, int], bytes]

#: The cases that reserve units of the storm's offer (Redis must hold one per 201).
RESERVING_CASES = (
    "bare_reserving",
    "reservation",
    "reservation_without_buyer_record",
    "keeper_reservation",
)

#: The cases whose Redis round trips per press are counted.
PRESS_CASES = ("sold_out", "reservation", "keeper_sold_out", "keeper_reservation")


def _get(path: str) -> RequestMaker:
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n".encode()
    return lambda connection, n: raw


def _press(path: str, tokens: list[str]) -> RequestMaker:
    """The storm's request: a fresh press by a signed-in viewer (as wrk_storm.lua sends).
    Keys are new for every call: a round must not replay an earlier round's presses."""
    run = secrets.token_hex(4)

    def make(connection: int, n: int) -> bytes:
        key = f"cost-{run}-{connection}-{n:09d}"
        body = f'{{"quantity":1,"idempotency_key":"{key}"}}'.encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            f"Authorization: Bearer {tokens[(connection * 7919 + n) % len(tokens)]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return make


async def _cost_per_request(
    runner: web.AppRunner, make: RequestMaker, connections: int, requests: int, meter: Meter
) -> tuple[float, Counter[int]]:
    """What ``meter`` measures per request (microseconds of this process's CPU, or
    instructions), ``connections`` requests at a time; and the answers' statuses, warm-up
    rounds included."""
    assert runner.server is not None
    answers = Answers()
    protocols = []
    for _ in range(connections):
        protocol = runner.server()
        protocol.connection_made(MemoryTransport(answers))
        protocols.append(protocol)
    rounds = max(1, requests // connections)
    prepared = [[make(c, n) for c in range(connections)] for n in range(rounds + 20)]
    for n, batch in enumerate(prepared):
        if n == 20:  # the first rounds warm caches (tokens, routes, scripts)
            meter.start()
        # Every connection sends its next request once all have their answers: a client
        # with one request in flight, as wrk's connections are.
        for protocol, raw in zip(protocols, batch, strict=True):
            protocol.data_received(raw)
        await answers.wait_for((n + 1) * connections)
    used = meter.stop()
    for protocol in protocols:
        protocol.connection_lost(None)
    return used / (rounds * connections), answers.statuses


async def _measure(args: argparse.Namespace, redis_url: str, meter: Meter) -> dict[str, Any]:
    await fresh_database(redis_url)
    env = {
        **os.environ,
        "LIVESALE_REDIS_URL": redis_url,
        "LIVESALE_VIEWER_SECRET": SECRET,
        "LIVESALE_RUN_RELAY": "0",
        "LIVESALE_RUN_SWEEPER": "0",
    }
    app = create_app(Settings.from_env(env))
    runner = web.AppRunner(app, access_log=None)
    waiting_redis = Redis.from_url(redis_url)
    floor = bare_app()
    add_waiting_route(floor, waiting_redis)
    bare = web.AppRunner(floor, access_log=None)
    try:
        await runner.setup()  # the stock keeper starts with the app
        keeper = app[KEEPER]
        tokens = [mint_viewer_token(SECRET, f"cost-{i}", f"Viewer {i}") for i in range(5000)]
        # The floor that reserves shares the keeper's scripts and its merging of presses.
        add_reserving_route(
            floor,
            keeper.scripts,
            {f"Bearer {token}": f"cost-{i}" for i, token in enumerate(tokens)},
            keeper.settings.idempotency_ttl_s,
        )
        await bare.setup()
        for token in tokens:
            # As in a storm, where each viewer presses many times: a token's signature is
            # checked on its first press only.
            app[VIEWER_TOKENS].verify(token)

        async def offer(stock: int) -> str:
            spec = OfferSpec("bench", "COST", "Benchmark item", 990, "EUR", stock, 1000, 3600)
            created = await keeper.create_offer(spec)
            await keeper.open_offer(created.id, countdown_ms=0, window_ms=3_600_000)
            return created.id

        storm, sold_out = await offer(10_000_000), await offer(1)
        await keeper.reserve(sold_out, "first-buyer", 1, "the-only-unit")
        storm_path = f"/api/offers/{storm}/reservations"
        sold_out_path = f"/api/offers/{sold_out}/reservations"

        def per_request(
            served: web.AppRunner, make: RequestMaker
        ) -> Awaitable[tuple[float, Counter[int]]]:
            return _cost_per_request(served, make, args.connections, args.requests, meter)

        def per_press(offer_id: str | None) -> Awaitable[tuple[float, Counter[int]]]:
            return keeper_per_press(
                keeper if offer_id else None,
                offer_id or storm,
                tokens,
                args.connections,
                args.requests,
                meter,
            )

        cases: dict[str, Callable[[], Awaitable[tuple[float, Counter[int]]]]] = {
            "bare_hello_world": lambda: per_request(bare, _get("/healthz")),
            "bare_same_request": lambda: per_request(bare, _press(storm_path, tokens)),
            # The floor, waiting for one Redis round trip a moment as every press does.
            "bare_waiting": lambda: per_request(
                bare, _press(WAITING_PATH.format(offer_id=storm), tokens)
            ),
            # The floor, reserving: the storm's POST, its script call and the hold's answer.
            "bare_reserving": lambda: per_request(
                bare, _press(RESERVING_PATH.format(offer_id=storm), tokens)
            ),
            "hello_world": lambda: per_request(runner, _get("/healthz")),
            "sold_out": lambda: per_request(runner, _press(sold_out_path, tokens)),
            "reservation": lambda: per_request(runner, _press(storm_path, tokens)),
            # What-ifs, to show what two correctness steps cost (not ways to run the product):
            # a sold-out answer that trusts this process's memory instead of looking the
            # press's key up in Redis (a retry of a press that reserved on another process
            # would then be told "sold out"), and a reservation that skips the buyer's
            # "my orders" record.
            "sold_out_without_replay_lookup": lambda: what_if(
                keeper,
                "_while_sold_out",
                sold_out_from_memory,
                per_request(runner, _press(sold_out_path, tokens)),
            ),
            # The stock keeper alone, as both the HTTP route and the room socket call it: what
            # no transport can make cheaper.
            "keeper_sold_out": lambda: per_press(sold_out),
            "keeper_reservation": lambda: per_press(storm),
            "tasks_alone": lambda: per_press(None),
            "reservation_without_buyer_record": lambda: what_if(
                keeper, "recorder", NoRecorder(), per_request(runner, _press(storm_path, tokens))
            ),
        }
        # A buyer-record pass gathers 20 ms of presses; under callgrind, where the process runs
        # slower, it waits longer, so that a pass carries about as many presses as natively
        # (the counts then show the passes the product makes, not a slowed clock's).
        app[ORDERS].writer.gather_s *= meter.gather_stretch
        tune_gc()  # as `livesale serve` does once it has started
        rounds: dict[str, list[float]] = {name: [] for name in cases}
        busy: dict[str, list[float]] = {name: [] for name in cases}
        statuses: dict[str, Counter[int]] = {name: Counter() for name in cases}
        batcher = keeper.scripts.batcher
        sent: dict[str, Counter[str]] = {name: Counter() for name in cases}
        for n in range(1, args.rounds + 1):
            print(f"Round {n}/{args.rounds}", flush=True)
            for name, case in cases.items():
                trips, calls = batcher.round_trips, batcher.calls_sent
                cost, answered = await case()
                # The buyer records of the case's presses are its own (written behind): their
                # round trips are counted here; the CPU of the last pass (at most 20 ms of
                # presses, of some 20,000) is left out of the case's figure.
                await app[ORDERS].writer.drain()
                sent[name].update(
                    round_trips=batcher.round_trips - trips, calls=batcher.calls_sent - calls
                )
                rounds[name].append(round(cost, 1))
                if meter.busy is not None:
                    busy[name].append(round(meter.busy, 3))
                statuses[name] += answered
        reserved = await keeper.get_offer(storm)
    finally:
        await runner.cleanup()
        await bare.cleanup()
        await waiting_redis.aclose()
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    return {
        "machine": machine(),
        "connections": args.connections,
        "requests_per_case": args.requests,
        "rounds": args.rounds,
        "unit": meter.unit,
        PER_REQUEST[meter.unit]: medians,
        "all_rounds": rounds,
        # CPU time / wall time while each case's requests were measured (CPU runs only): what
        # is not busy, the process waited (for Redis). Medians of the rounds.
        "busy_share": {name: statistics.median(v) for name, v in busy.items() if v},
        "units_held_by_reservation_case": reserved.held,
        # Redis round trips (pipelines) and script calls per 100 presses, warm-up included:
        # counted, not timed, so the machine's noise does not move them (the app's own
        # background calls in the same batcher are counted too; few with relay and sweeper off).
        "redis_per_100_presses": {
            name: {
                what: round(100 * count / max(1, sum(statuses[name].values())), 2)
                for what, count in sent[name].items()
            }
            for name in PRESS_CASES
        },
        "statuses": {name: dict(counts) for name, counts in statuses.items()},
        "problems": _problems(statuses, reserved.held, sent),
        # Rates are inverse costs: these are the ratios `livesale-bench reserve` reports, without
        # the network and the load generator.
        "ratios": {
            "sold_out_vs_hello_world": medians["hello_world"] / medians["sold_out"],
            "reservation_vs_hello_world": medians["hello_world"] / medians["reservation"],
            "bare_same_request_vs_bare_hello_world": medians["bare_hello_world"]
            / medians["bare_same_request"],
            # Issue 18's: our hello world's rate against bare aiohttp's, and each press's
            # CPU against aiohttp's own handling of the same POST (the floor).
            "hello_world_vs_bare_hello_world": medians["bare_hello_world"] / medians["hello_world"],
            # The stock keeper's own work against what each target leaves it: a sold-out
            # press may cost 0.2 x the floor more than the floor, a reservation 0.8 x; a
            # socket press (one in flight) at 0.9 of the hello world's rate may cost 1/0.9
            # of a hello world in all, keeper included.
            # (A request's handler already runs in a task: the keeper cases' own tasks are
            # taken off.)
            "keeper_sold_out_vs_floor": (medians["keeper_sold_out"] - medians["tasks_alone"])
            / medians["bare_same_request"],
            "keeper_reservation_vs_floor": (medians["keeper_reservation"] - medians["tasks_alone"])
            / medians["bare_same_request"],
            "keeper_reservation_vs_hello_world": (
                medians["keeper_reservation"] - medians["tasks_alone"]
            )
            / medians["hello_world"],
            **{
                f"{name}_cost_vs_floor": medians[name] / medians["bare_same_request"]
                for name in (
                    "bare_waiting",
                    "bare_reserving",
                    "sold_out",
                    "sold_out_without_replay_lookup",
                    "reservation",
                    "reservation_without_buyer_record",
                )
            },
        },
    }


def _problems(
    statuses: dict[str, Counter[int]], held: int, sent: dict[str, Counter[str]]
) -> list[str]:
    """What makes the figures untrustworthy: a case that answered otherwise than it should,
    reservations whose units Redis does not hold, or a press case whose round trips were
    not counted (none, or more than the script calls they carried)."""
    problems = [
        f"{name}: expected every answer {EXPECTED_STATUS[name]}, got {dict(counts)}"
        for name, counts in statuses.items()
        if set(counts) != {EXPECTED_STATUS[name]}
    ]
    answered = sum(statuses[name][201] for name in RESERVING_CASES)
    if answered != held:
        problems.append(f"reservations: {answered} answered 201 but Redis holds {held} units")
    problems += [
        f"{name}: {sent[name]['round_trips']} round trips counted for "
        f"{sent[name]['calls']} script calls"
        for name in PRESS_CASES
        if not 0 < sent[name]["round_trips"] <= sent[name]["calls"]
    ]
    return problems


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench costs`` and print (and write) its figures; exits 1 when a case
    did not answer as it should (its figure would measure something else)."""
    redis_server = stack.local_redis()
    if not redis_server.ping():
        redis_server.start()
    # The configured Redis (by default the local one just started).
    base = StockSettings.from_env().redis_url.rsplit("/", 1)[0]
    if args.count == "instructions" and DUMPS_ENV not in os.environ:
        # The same command again, under callgrind (which starts it with DUMPS_ENV set).
        sys.exit(run_counted(sys.argv[1:]))
    results = uvloop.run(_measure(args, f"{base}/{BENCH_DB}", meter()))
    report(results, args)
