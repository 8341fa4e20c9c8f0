"""The ``livesale`` command: serve, relay, fulfil, stack, token, host.

The product's command imports nothing from ``loadtests/``: the benchmarks have their own
command, ``livesale-bench``, installed with the development extras.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson

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
    from .process import run_until_signalled, tune_gc

    settings = Settings.from_env()
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
    if args.workers > 1:
        _serve_workers(args, settings)
        return
    app = create_app(settings)
    tune_gc()
    log.info("livesale serving on http://%s:%d", settings.host, settings.port)
    # Not web.run_app: this runner answers requests aiohttp cannot parse with the app's JSON.
    run_until_signalled(serve(app, settings.host, settings.port, reuse_port=args.reuse_port))


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
        consumer = FulfilmentConsumer(redis, settings, args.group, ship)
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


def cmd_token(args: argparse.Namespace) -> None:
    """Print a viewer token signed with LIVESALE_VIEWER_SECRET."""
    from .tokens import mint_viewer_token

    settings = Settings.from_env()
    if not (settings.viewer_secret_set and settings.viewer_token_secret):
        sys.exit("Set LIVESALE_VIEWER_SECRET to the secret the server uses.")
    secret = settings.viewer_token_secret
    print(mint_viewer_token(secret, args.user_id, args.name or args.user_id, args.ttl))


def cmd_host(args: argparse.Namespace) -> None:
    """Host accounts: create one, set a password, or mint an API token for automation."""
    import getpass

    from stockkeeper.settings import StockSettings

    from .hosts.accounts import AccountError, HostAccounts, token_id
    from .redis_client import connect

    redis_url = StockSettings.from_env().redis_url
    _require(redis_url)

    def new_password() -> str:
        password = CommandSettings.from_env().host_password
        if password is not None:
            return password
        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass(f"Password for {args.host_id}: ")
        if getpass.getpass("Again: ") != first:
            sys.exit("The two passwords differ; nothing changed.")
        return first

    async def main() -> None:
        redis = connect(redis_url)
        accounts = HostAccounts(redis)
        try:
            if args.action == "create":
                host = await accounts.create(args.host_id, new_password(), args.name or "")
                print(f"Host {host.host_id} created. Log in at /console.")
            elif args.action == "password":
                ended = await accounts.set_password(args.host_id, new_password())
                print(
                    f"Password of {args.host_id} changed; {ended} console session(s) signed out. "
                    "API tokens still work (revoke them with `livesale host revoke-token`)."
                )
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

    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Run one ``livesale`` command."""
    defaults = CommandSettings.from_env()
    logging.basicConfig(
        level=defaults.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parser(defaults).parse_args(argv)
    args.func(args)
