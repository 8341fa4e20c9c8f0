"""``livesale verify-draw``: recompute a giveaway's winners from its published record and
say whether they match (exit 0 "verified", exit 1 "does not match", exit 2 unreadable).

The record is what ``GET /api/giveaways/{id}/draw`` answers, read from a file, from stdin
(``-``) or from that address itself. Nothing here trusts the server: every check is made
from the record's own data with the algorithm in draw.py (docs/giveaways.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from . import draw

_HEX64 = frozenset("0123456789abcdef")


@dataclass(slots=True)
class Verdict:
    """What the checks found: the problems (none when verified) and each round's winners
    as recomputed."""

    problems: list[str] = field(default_factory=list)
    winners: list[list[str]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when the record is consistent and every round's winners match."""
        return not self.problems


def _is_hex(text: Any, length: int) -> bool:
    return isinstance(text, str) and len(text) == length and set(text) <= _HEX64


def verify(record: dict[str, Any]) -> Verdict:
    """Check a draw's record: the seed against its commitment, the entries against their
    hash, and each round's winners against the ones the algorithm gives."""
    verdict = Verdict()
    problems = verdict.problems
    if record.get("algorithm") != draw.ALGORITHM:
        problems.append(
            f"unknown algorithm {record.get('algorithm')!r} (expected {draw.ALGORITHM})"
        )
        return verdict
    seed_hex, commitment = record.get("seed"), record.get("commitment")
    if not _is_hex(seed_hex, 2 * draw.SEED_BYTES) or not _is_hex(commitment, 64):
        problems.append("the seed or the commitment is not lowercase hex of the right length")
        return verdict
    seed = bytes.fromhex(str(seed_hex))
    if hashlib.sha256(seed).hexdigest() != commitment:
        problems.append("the seed does not match the commitment published at the start")
    entries = record.get("entries")
    if not isinstance(entries, list) or not all(
        isinstance(e, str) and draw.USER_ID.match(e) for e in entries
    ):
        problems.append("the entries are not a list of user ids")
        return verdict
    if entries != draw.canonical(entries):
        problems.append("the entries are not sorted by their bytes, each once")
    list_hash = draw.entries_hash(entries)
    if list_hash != record.get("entries_hash"):
        problems.append("the entries do not match the published entries hash")
    rounds = record.get("rounds")
    if not isinstance(rounds, list) or not rounds:
        problems.append("the record has no rounds")
        return verdict
    earlier: list[str] = []
    for number, round_ in enumerate(rounds):
        found = _check_round(seed, list_hash, number, round_, entries, earlier, problems)
        verdict.winners.append(found)
        earlier += found
    return verdict


def _check_round(
    seed: bytes,
    list_hash: str,
    number: int,
    round_: Any,
    entries: list[str],
    earlier: list[str],
    problems: list[str],
) -> list[str]:
    """Round ``number``'s winners by the algorithm; what differs goes to ``problems``."""
    if not isinstance(round_, dict) or round_.get("round") != number:
        problems.append(f"round {number}: missing, or out of order")
        return []
    prizes, excluded = round_.get("prizes"), round_.get("excluded", [])
    if not isinstance(prizes, int) or prizes < 1 or not isinstance(excluded, list):
        problems.append(f"round {number}: prizes or excluded unreadable")
        return []
    if not set(excluded) <= set(entries):
        problems.append(f"round {number}: someone excluded never entered")
    candidates = draw.pool(entries, earlier, excluded)
    expected = draw.pick(seed, list_hash, number, candidates, prizes)
    if round_.get("winners") != expected:
        problems.append(
            f"round {number}: the published winners {round_.get('winners')} are not the "
            f"recomputed {expected}"
        )
    return expected


def load(source: str) -> dict[str, Any]:
    """The record from a file, stdin (``-``) or an http(s) address."""
    if source == "-":
        data: Any = json.load(sys.stdin)
    elif source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:
            data = json.load(response)
    else:
        with open(source, encoding="utf-8") as file:
            data = json.load(file)
    if not isinstance(data, dict):
        raise ValueError("a draw's record is a JSON object")
    return data


def cmd_verify_draw(args: argparse.Namespace) -> None:
    """Print the recomputed winners and the verdict; exit 1 when it does not match."""
    try:
        record = load(args.source)
    except (OSError, ValueError) as exc:
        print(f"livesale verify-draw: cannot read {args.source}: {exc}", file=sys.stderr)
        sys.exit(2)
    verdict = verify(record)
    print(f"giveaway {record.get('giveaway_id')}: {len(record.get('entries') or [])} entries")
    for number, winners in enumerate(verdict.winners):
        print(f"round {number} winners: {', '.join(winners) or '(none)'}")
    if verdict.verified:
        print("verified")
        return
    for problem in verdict.problems:
        print(f"does not match: {problem}")
    sys.exit(1)


def add_verify_draw(sub: Any) -> None:
    """The ``verify-draw`` subcommand, on the ``livesale`` command's subparsers."""
    v = sub.add_parser(
        "verify-draw",
        help="recompute a giveaway draw's winners from its public record",
        description="SOURCE: a JSON file, - for stdin, or the address of "
        "GET /api/giveaways/{id}/draw. Exit 0 verified, 1 does not match, 2 unreadable.",
    )
    v.add_argument("source", help="the draw's record: a file, -, or an http(s) address")
    v.set_defaults(func=cmd_verify_draw)
