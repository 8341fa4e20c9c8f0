"""The ``livesale`` command: serve, relay, fulfil, stack, token, host, benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson

log = logging.getLogger("livesale")


def _install_uvloop() -> None:
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def tune_gc() -> None:
    """Make the cyclic garbage collector nearly free for a server process.

    Every request allocates a few dozen tracked objects, so at Python's default threshold
    (700) a rush triggers hundreds of collections a second, and each full collection walks
    the ~70,000 objects of the imported code again. Measured under the reservation storm,
    that was 4-8% of the process's CPU. Objects that exist before serving starts are frozen
    (never scanned again), and young objects are collected every 20,000 allocations instead:
    refcounting frees almost everything a request makes, so little waits for the collector.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _start_local_stack(need_kafka: bool) -> bool:
    """Start local Redis (and Kafka) for whatever the environment does not configure.

    True when Redis is the local one (a developer's machine, not a deployment).
    """
    from deploy import stack

    local = "LIVESALE_REDIS_URL" not in os.environ
    if local:
        redis = stack.local_redis()
        if not redis.ping():
            log.info("No LIVESALE_REDIS_URL: starting a local Redis on port %d", redis.port)
            redis.start()
    if need_kafka and "LIVESALE_KAFKA_BOOTSTRAP" not in os.environ:
        kafka = stack.local_kafka()
        if not kafka.is_up():
            log.info("No LIVESALE_KAFKA_BOOTSTRAP: starting a local Kafka on port %d", kafka.port)
            kafka.start()
    return local


def cmd_serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    from .app import create_app
    from .settings import Settings

    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        run_relay=settings.run_relay and not args.no_relay,
        run_sweeper=settings.run_sweeper and not args.no_sweeper,
    )
    local = _start_local_stack(need_kafka=settings.run_relay)
    if args.workers > 1:
        _serve_workers(args, local)
        return
    if local and "LIVESALE_DEMO_VIEWER_TOKENS" not in os.environ:
        # On the local stack the viewer page can sign anyone in, so the product can be tried.
        settings = dataclasses.replace(settings, demo_viewer_tokens=True)
        log.info(
            "Local stack: demo sign-in for viewers is on "
            "(LIVESALE_DEMO_VIEWER_TOKENS=0 turns it off)"
        )
    if "LIVESALE_VIEWER_SECRET" not in os.environ:
        log.warning("No LIVESALE_VIEWER_SECRET set: viewer tokens last only for this run.")
    if "LIVESALE_SESSION_SECRET" not in os.environ:
        log.warning("No LIVESALE_SESSION_SECRET set: hosts must log in again after a restart.")
    _install_uvloop()
    app = create_app(settings)
    tune_gc()
    log.info("livesale serving on http://%s:%d", settings.host, settings.port)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        reuse_port=args.reuse_port,
    )


def _serve_workers(args: argparse.Namespace, local: bool) -> None:
    from .workers import Supervisor

    passed_on = [f"--{name}" for name in ("no_relay", "no_sweeper") if getattr(args, name)]
    passed_on = [flag.replace("_", "-") for flag in passed_on]
    if args.host:
        passed_on += ["--host", args.host]
    if args.port:
        passed_on += ["--port", str(args.port)]
    env = dict(os.environ)
    if local:
        env.setdefault("LIVESALE_DEMO_VIEWER_TOKENS", "1")
    log.info("Starting %d workers", args.workers)
    sys.exit(Supervisor(args.workers, passed_on, env).run())


def cmd_relay(args: argparse.Namespace) -> None:
    from stockkeeper.relay import OutboxRelay
    from stockkeeper.settings import StockSettings

    from .redis_client import connect

    settings = StockSettings.from_env()
    _start_local_stack(need_kafka=True)

    async def main() -> None:
        redis = connect(settings.redis_url)
        relay = OutboxRelay(redis, settings, args.name)
        log.info(
            "Outbox relay %s: Redis %s -> Kafka %s",
            args.name,
            settings.redis_url,
            settings.kafka_bootstrap,
        )
        try:
            await _until_signalled(relay.run())
        finally:
            log.info("Outbox relay %s stopped after %d events", args.name, relay.published)
            await redis.aclose()

    _install_uvloop()
    asyncio.run(main())


def cmd_fulfil(args: argparse.Namespace) -> None:
    from stockkeeper.fulfilment import FulfilmentConsumer
    from stockkeeper.settings import StockSettings

    from .redis_client import connect

    settings = StockSettings.from_env()

    async def ship(order: dict[str, Any]) -> None:
        sys.stdout.buffer.write(orjson.dumps(order) + b"\n")
        sys.stdout.flush()

    async def main() -> None:
        redis = connect(settings.redis_url)
        consumer = FulfilmentConsumer(redis, settings, args.group, ship)
        try:
            await _until_signalled(consumer.run())
        finally:
            log.info(
                "Shipped %d orders, skipped %d redeliveries", consumer.shipped, consumer.duplicates
            )
            await redis.aclose()

    asyncio.run(main())


async def _until_signalled(coro: Any) -> None:
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def cmd_stack(args: argparse.Namespace) -> None:
    from deploy import stack

    if args.action == "up":
        redis, kafka = stack.up()
        print(f"LIVESALE_REDIS_URL={redis.url}")
        print(f"LIVESALE_KAFKA_BOOTSTRAP={kafka.bootstrap}")
        if args.cluster:
            cluster = stack.up_cluster()
            print(f"# or, on the local Redis Cluster: LIVESALE_REDIS_URL={cluster.url}")
    elif args.action == "down":
        stack.down()
    else:
        state = stack.status()
        for name, running in state.items():
            print(f"{name}: {'running' if running else 'stopped'}")
        if not (state["redis"] and state["kafka"]):
            sys.exit(1)


def cmd_token(args: argparse.Namespace) -> None:
    from .tokens import mint_viewer_token

    secret = os.environ.get("LIVESALE_VIEWER_SECRET")
    if not secret:
        sys.exit("Set LIVESALE_VIEWER_SECRET to the secret the server uses.")
    print(mint_viewer_token(secret, args.user_id, args.name or args.user_id, args.ttl))


def cmd_host(args: argparse.Namespace) -> None:
    """Host accounts: create one, set a password, or mint an API token for automation."""
    import getpass

    from stockkeeper.settings import StockSettings

    from .hosts.accounts import AccountError, HostAccounts, token_id
    from .redis_client import connect

    _start_local_stack(need_kafka=False)

    def new_password() -> str:
        password = os.environ.get("LIVESALE_HOST_PASSWORD")
        if password is not None:
            return password
        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass(f"Password for {args.host_id}: ")
        if getpass.getpass("Again: ") != first:
            sys.exit("The two passwords differ; nothing changed.")
        return first

    async def main() -> None:
        redis = connect(StockSettings.from_env().redis_url)
        accounts = HostAccounts(redis)
        try:
            if args.action == "create":
                host = await accounts.create(args.host_id, new_password(), args.name or "")
                print(f"Host {host.host_id} created. Log in at /console.")
            elif args.action == "password":
                await accounts.set_password(args.host_id, new_password())
                print(f"Password of {args.host_id} changed.")
            elif args.action == "api-token":
                token = await accounts.mint_api_token(args.host_id, args.label)
                print(token)
                print(f"Token id (to list or revoke it): {token_id(token)}", file=sys.stderr)
            elif args.action == "tokens":
                for t in await accounts.api_tokens(args.host_id):
                    created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(t.created_at / 1000))
                    print(f"{t.token_id}  {created} UTC  {t.label}")
            else:
                if not args.token_id:
                    sys.exit("Name the token: --token-id ID (see `livesale host tokens`).")
                if not await accounts.revoke_api_token(args.host_id, args.token_id):
                    sys.exit(f"{args.host_id} has no API token {args.token_id}; nothing changed.")
                print(f"Token {args.token_id} of {args.host_id} revoked; it no longer works.")
        except AccountError as exc:
            sys.exit(str(exc))
        finally:
            await redis.aclose()

    asyncio.run(main())


def cmd_loadtest(args: argparse.Namespace) -> None:
    from loadtests.loadtest import main as run_loadtest

    run_loadtest(args)


def cmd_bench(args: argparse.Namespace) -> None:
    from loadtests.bench_reserve import main as run_benchmark

    run_benchmark(args)


def cmd_bench_room(args: argparse.Namespace) -> None:
    from loadtests.bench_room import main as run_benchmark

    run_benchmark(args)


def cmd_bench_costs(args: argparse.Namespace) -> None:
    from loadtests.bench_costs import main as run_benchmark

    run_benchmark(args)


def cmd_bench_buckets(args: argparse.Namespace) -> None:
    from loadtests.bench_buckets import main as run_benchmark

    run_benchmark(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="livesale", description="Live-stream selling and flash sales: service, relay, tools."
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the HTTP service (with hold sweeper and relay)")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port to listen on (default 8080)")
    s.add_argument("--no-relay", action="store_true", help="run the outbox relay elsewhere")
    s.add_argument("--no-sweeper", action="store_true", help="do not expire holds here")
    s.add_argument("--reuse-port", action="store_true", help="share the port (SO_REUSEPORT)")
    s.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("LIVESALE_WORKERS", "1")),
        help="server processes sharing the port (SO_REUSEPORT); default 1",
    )
    s.set_defaults(func=cmd_serve)

    r = sub.add_parser("relay", help="relay confirmed orders from the outbox to Kafka")
    r.add_argument(
        "--name",
        default=f"relay-{socket.gethostname()}",
        help="stable name; a restarted relay re-sends what it had in flight",
    )
    r.set_defaults(func=cmd_relay)

    f = sub.add_parser("fulfil", help="sample fulfilment consumer: print each order once")
    f.add_argument("--group", default="fulfilment-demo", help="Kafka consumer group")
    f.set_defaults(func=cmd_fulfil)

    st = sub.add_parser("stack", help="local Redis and Kafka on loopback")
    st.add_argument("action", choices=["up", "down", "status"])
    st.add_argument(
        "--cluster", action="store_true", help="also a local 3-master Redis Cluster (up)"
    )
    st.set_defaults(func=cmd_stack)

    t = sub.add_parser("token", help="mint a viewer token (needs LIVESALE_VIEWER_SECRET)")
    t.add_argument("user_id")
    t.add_argument("--name", help="display name (default: the user id)")
    t.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 h)")
    t.set_defaults(func=cmd_token)

    h = sub.add_parser(
        "host",
        help="host accounts: create, password, api-token, tokens, revoke-token",
        description="Passwords are asked for, read from stdin when piped, or taken from "
        "LIVESALE_HOST_PASSWORD. API tokens are printed once; store them safely.",
    )
    h.add_argument("action", choices=["create", "password", "api-token", "tokens", "revoke-token"])
    h.add_argument("host_id", help="the host's login name")
    h.add_argument("--name", help="display name (create; default: the login name)")
    h.add_argument("--label", default="automation", help="what an API token is for")
    h.add_argument("--token-id", help="the API token to revoke (revoke-token)")
    h.set_defaults(func=cmd_host)

    b = sub.add_parser("bench", help="measure hello-world, reservation and sold-out rates")
    b.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    b.add_argument("--rounds", type=int, default=3, help="rounds of all phases (medians)")
    b.add_argument("--connections", type=int, default=64, help="concurrent clients")
    b.add_argument("--stock", type=int, default=1_000_000, help="units in the storm offer")
    b.add_argument(
        "--workers", type=int, default=1, help="server processes on the port (serve --workers)"
    )
    b.add_argument("--out", help="also write the figures as JSON to this file")
    b.set_defaults(func=cmd_bench)

    bc = sub.add_parser(
        "bench-costs",
        help="server CPU per request (hello world, sold out, reservation), without sockets",
    )
    bc.add_argument("--requests", type=int, default=20_000, help="requests per case and round")
    bc.add_argument("--rounds", type=int, default=5, help="rounds of all cases (medians)")
    bc.add_argument("--connections", type=int, default=64, help="requests in flight at once")
    bc.add_argument("--out", help="also write the figures as JSON to this file")
    bc.set_defaults(func=cmd_bench_costs)

    lt = sub.add_parser(
        "loadtest",
        help="Locust scenarios at several user counts: a report with CSV, HTML and plots",
    )
    from loadtests.loadtest import add_arguments

    add_arguments(lt)
    lt.set_defaults(func=cmd_loadtest)

    br = sub.add_parser("bench-room", help="measure a room: viewers held, fan-out, delay")
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
    br.set_defaults(func=cmd_bench_room)

    bb = sub.add_parser(
        "bench-buckets",
        help="a hot offer on the local 3-master cluster: one slot against K buckets",
    )
    bb.add_argument("--buckets", type=int, default=6, help="buckets of the split offer")
    bb.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    bb.add_argument("--rounds", type=int, default=3, help="rounds of both settings (medians)")
    bb.add_argument("--generators", type=int, default=2, help="load generator processes")
    bb.add_argument("--concurrency", type=int, default=200, help="buyers per generator")
    bb.add_argument("--sell-out-stock", type=int, default=5000, help="units in the sell-out check")
    bb.add_argument("--out", help="also write the figures as JSON to this file")
    bb.set_defaults(func=cmd_bench_buckets)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(
        level=os.environ.get("LIVESALE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = parser().parse_args(argv)
    args.func(args)
