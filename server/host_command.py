"""``livesale host ACTION``: host accounts from the command line, each action with its own
``--help``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from .settings import CommandSettings


def _require(redis_url: str) -> None:
    """Exit with one line unless Redis answers (server/cli.py's check, for this command)."""
    from .preflight import Unreachable, check

    try:
        asyncio.run(check(redis_url, None))
    except Unreachable as exc:
        sys.exit(f"livesale: {exc}")


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


#: ``livesale host ACTION``: each action's one-line help and its own description.
HOST_ACTIONS = [
    (
        "create",
        "create a host account",
        "Create a host account with a password (asked for, read from stdin when piped, or "
        "LIVESALE_HOST_PASSWORD). The host then logs in at /console.",
    ),
    (
        "password",
        "set a host's password",
        "Set a new password for a host; every console session of the host is signed out. "
        "API tokens keep working (revoke them with `livesale host revoke-token`).",
    ),
    (
        "api-token",
        "mint an API token for automation",
        "Mint an API token for the host's automation (Authorization: Bearer ...). It is "
        "printed once, on stdout; its id (to list or revoke it) goes to stderr.",
    ),
    ("tokens", "list a host's API tokens", "List the host's API tokens: id, creation, label."),
    (
        "revoke-token",
        "revoke one of a host's API tokens",
        "Revoke one of the host's API tokens, named by its id (see `livesale host tokens`); "
        "it stops working at once.",
    ),
]


def add_host_parser(sub: Any) -> None:
    """Add ``host`` and its actions to the ``livesale`` command's sub-commands."""
    h = sub.add_parser(
        "host",
        help="host accounts: create, password, api-token, tokens, revoke-token",
        description="Host accounts. Passwords are asked for, read from stdin when piped, or "
        "taken from LIVESALE_HOST_PASSWORD. API tokens are printed once; store them safely. "
        "`livesale host ACTION --help` tells about each action.",
    )
    h.set_defaults(func=cmd_host, name=None, label="automation", token_id=None)
    actions = h.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, help_, description in HOST_ACTIONS:
        a = actions.add_parser(action, help=help_, description=description)
        a.add_argument("host_id", help="the host's login name")
        if action == "create":
            a.add_argument("--name", help="display name (default: the login name)")
        if action == "api-token":
            a.add_argument("--label", default="automation", help="what the token is for")
        if action == "revoke-token":
            a.add_argument(
                "--token-id", required=True, help="the token to revoke (see `host tokens`)"
            )
