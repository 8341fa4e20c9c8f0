"""The ``livesale`` command: serve, relay, fulfil, stack, token, host.

The product's command imports nothing from ``loadtests/``: the benchmarks have their own
command, ``livesale-bench``, installed with the development extras.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from .giveaways.verify import add_verify_draw
from .host_command import add_host_parser
from .reconcile_command import add_reconcile_parser
from .settings import CommandSettings, Settings

log = logging.getLogger("livesale")


def _require(redis_url: str, kafka_bootstrap: str | None = None) -> None:
    """Exit with one line unless Redis (and Kafka, when given) answer; before anything starts."""
    from .preflight import Unreachable, check

    try:
        asyncio.run(check(redis_url, kafka_bootstrap))
    except Unreachable as exc:
        sys.exit(f"livesale: {exc}")


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve HTTP and WebSockets, with the hold sweeper and the outbox relay (unless off)."""
    from .api.http_server import serve
    from .app import create_app
    from .process import raise_open_files, run_until_signalled, tune_gc

    raise_open_files()  # every viewer is an open socket
    settings = _settings()
    settings = dataclasses.replace(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        run_relay=settings.run_relay and not args.no_relay,
        run_sweeper=settings.run_sweeper and not args.no_sweeper,
    )
    _require(
        settings.stock.redis_url, settings.stock.kafka_bootstrap if settings.run_relay else None
    )
    if not settings.viewer_secret_set:
        log.warning("No LIVESALE_VIEWER_SECRET set: viewer tokens last only for this run.")
    if not settings.session_secret_set:
        log.warning("No LIVESALE_SESSION_SECRET set: hosts must log in again after a restart.")
    if settings.demo_viewer_tokens:
        log.info(
            "Demo sign-in for viewers is on: only for trying the product out "
            "(LIVESALE_DEMO_VIEWER_TOKENS=0 turns it off)"
        )
    if not args.reuse_port:  # the supervisor checks for its workers, which share the port
        _port_free(settings.host, settings.port)
    if args.workers > 1:
        _serve_workers(args, settings)
        return
    app = create_app(settings)
    tune_gc()
    log.info("livesale serving on http://%s:%d", settings.host, settings.port)
    # Not web.run_app: this runner answers requests aiohttp cannot parse with the app's JSON.
    try:
        run_until_signalled(serve(app, settings.host, settings.port, reuse_port=args.reuse_port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        sys.exit(_port_busy(settings.host, settings.port))


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        sys.exit(f"livesale: {exc}")


def _port_busy(host: str, port: int) -> str:
    return (
        f"livesale serve: {host}:{port} is already in use (another livesale serve?). "
        "Stop it, or pick another port with --port."
    )


def _port_free(host: str, port: int) -> None:
    """Exit with one line when something already listens on host:port."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                sys.exit(_port_busy(host, port))


def _serve_workers(args: argparse.Namespace, settings: Settings) -> None:
    from .workers import Supervisor, worker_env

    passed_on = [f"--{name}" for name in ("no_relay", "no_sweeper") if getattr(args, name)]
    passed_on = [flag.replace("_", "-") for flag in passed_on]
    if args.host:
        passed_on += ["--host", args.host]
    if args.port:
        passed_on += ["--port", str(args.port)]
    log.info("Starting %d workers", args.workers)
    env = worker_env(os.environ, settings)
    sys.exit(Supervisor(args.workers, passed_on, env, settings.relay_name).run())


def cmd_relay(args: argparse.Namespace) -> None:
    """Relay confirmed orders from the Redis outbox to Kafka until stopped."""
    from stockkeeper.relay import OutboxRelay

    from .process import run_until_signalled
    from .redis_client import connect

    # The name comes from the one place every process reads it: LIVESALE_RELAY_NAME.
    server_settings = Settings.from_env()
    settings = server_settings.stock
    name = args.name or server_settings.relay_name
    _require(settings.redis_url, settings.kafka_bootstrap)

    async def main() -> None:
        redis = connect(settings.redis_url)
        relay = OutboxRelay(redis, settings, name)
        log.info(
            "Outbox relay %s: Redis %s -> Kafka %s",
            name,
            settings.redis_url,
            settings.kafka_bootstrap,
        )
        try:
            await relay.run()
        finally:
            log.info("Outbox relay %s stopped after %d events", name, relay.published)
            await redis.aclose()

    run_until_signalled(main())


def cmd_fulfil(args: argparse.Namespace) -> None:
    """The sample fulfilment consumer: print each confirmed order once, as JSON."""
    from stockkeeper.fulfilment import FulfilmentConsumer
    from stockkeeper.settings import StockSettings

    from .process import run_until_signalled
    from .redis_client import connect

    settings = StockSettings.from_env()
    _require(settings.redis_url, settings.kafka_bootstrap)

    async def ship(order: dict[str, Any]) -> None:
        sys.stdout.buffer.write(orjson.dumps(order) + b"\n")
        sys.stdout.flush()

    async def main() -> None:
        redis = connect(settings.redis_url)
        reporter = None
        if args.ship:
            from stockkeeper.status_reports import StatusReporter

            status_topic = Settings.from_env().order_status_topic
            reporter = StatusReporter(
                redis, settings.kafka_bootstrap, status_topic, args.group, args.deliver_after
            )
        consumer = FulfilmentConsumer(redis, settings, args.group, ship, reporter)
        try:
            await consumer.run()
        finally:
            log.info(
                "Shipped %d orders, skipped %d redeliveries", consumer.shipped, consumer.duplicates
            )
            await redis.aclose()

    run_until_signalled(main())


def cmd_stack(args: argparse.Namespace) -> None:
    """The local Redis and Kafka of a developer's machine: up (installing them), down, status."""
    from deploy import stack

    if args.action == "up":
        try:
            redis, kafka = stack.up()
            cluster = stack.up_cluster() if args.cluster else None
        except stack.StackError as exc:
            sys.exit(f"livesale stack up: {exc}")
        print(f"LIVESALE_REDIS_URL={redis.url}")
        print(f"LIVESALE_KAFKA_BOOTSTRAP={kafka.bootstrap}")
        if cluster is not None:
            print(f"# or, on the local Redis Cluster: LIVESALE_REDIS_URL={cluster.url}")
    elif args.action == "down":
        stack.down()
    else:
        state = stack.status()
        for name, running in state.items():
            print(f"{name}: {'running' if running else 'stopped'}")
        if not (state["redis"] and state["kafka"]):
            sys.exit(1)


def cmd_stream(args: argparse.Namespace) -> None:
    """Write a live HLS test pattern for a room where ``livesale serve`` serves it."""
    from deploy import test_stream
    from deploy.processes import StackError

    configured = args.dir or _settings().schedule.media_dir  # --dir, else LIVESALE_MEDIA_DIR
    folder = test_stream.media_dir(str(configured) if configured else None)
    try:
        ffmpeg = test_stream.start(args.room, folder)
    except StackError as exc:
        sys.exit(f"livesale stream: {exc}")
    print(f"Test stream of {args.room} in {folder / args.room} (Ctrl-C stops it).")
    print(
        f"Its address: /media/{args.room}/{test_stream.PLAYLIST} on a server run with "
        f"LIVESALE_MEDIA_DIR={folder} (make run sets it); put it in the console's "
        "Stage and schedule panel as the stream."
    )

    stopped: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopped.append(signum)
        ffmpeg.terminate()  # Ctrl-C, or `kill` of a stream run in the background

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    code = ffmpeg.wait()
    sys.exit(0 if stopped else code)  # a requested stop is a success


def cmd_token(args: argparse.Namespace) -> None:
    """Print a viewer token signed with LIVESALE_VIEWER_SECRET."""
    from .tokens import mint_viewer_token

    settings = Settings.from_env()
    if not (settings.viewer_secret_set and settings.viewer_token_secret):
        sys.exit("Set LIVESALE_VIEWER_SECRET to the secret the server uses.")
    secret = settings.viewer_token_secret
    print(mint_viewer_token(secret, args.user_id, args.name or args.user_id, args.ttl))


def parser(defaults: CommandSettings | None = None) -> argparse.ArgumentParser:
    """The ``livesale`` command line; ``defaults`` from the environment unless given."""
    defaults = defaults or CommandSettings.from_env()
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
        default=defaults.workers,
        help="server processes sharing the port (SO_REUSEPORT); default 1",
    )
    s.set_defaults(func=cmd_serve)

    r = sub.add_parser("relay", help="relay confirmed orders from the outbox to Kafka")
    r.add_argument(
        "--name",
        help="stable name, its Kafka transactional id: a restarted relay finishes exactly "
        "what it had in flight (default: LIVESALE_RELAY_NAME, else relay-1)",
    )
    r.set_defaults(func=cmd_relay)

    f = sub.add_parser("fulfil", help="sample fulfilment consumer: print each order once")
    f.add_argument("--group", default="fulfilment-demo", help="Kafka consumer group")
    f.add_argument(
        "--ship",
        action="store_true",
        help="report each order shipped on the status topic (buyers see it in My orders)",
    )
    f.add_argument(
        "--deliver-after",
        type=float,
        metavar="SECONDS",
        help="with --ship: report each order delivered this long after shipping it",
    )
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

    add_host_parser(sub)

    v = sub.add_parser(
        "stream",
        help="a live HLS test pattern for a room, served at /media/ROOM/index.m3u8",
        description="Runs ffmpeg (installed from Debian's packages when missing) writing a "
        "live HLS test pattern into LIVESALE_MEDIA_DIR/ROOM (default: the local stack's "
        "media folder), which `livesale serve` run with the same LIVESALE_MEDIA_DIR serves "
        "at /media/ROOM/index.m3u8. Until stopped.",
    )
    v.add_argument("--room", required=True, help="the show's room name")
    v.add_argument("--dir", help="the media folder (default: LIVESALE_MEDIA_DIR, else the stack's)")
    v.set_defaults(func=cmd_stream)

    add_verify_draw(sub)  # livesale verify-draw (server/giveaways/verify.py)
    add_reconcile_parser(sub)  # livesale reconcile (server/reconcile_command.py)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Run one ``livesale`` command."""
    defaults = CommandSettings.from_env()
    logging.basicConfig(
        level=defaults.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parser(defaults).parse_args(argv)
    args.func(args)
