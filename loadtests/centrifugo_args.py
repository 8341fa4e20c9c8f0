"""The command line of ``livesale-bench centrifugo`` (no development extras needed here)."""

from __future__ import annotations

import argparse

#: The rows of the comparison: (viewers, events a second).
DEFAULT_ROWS = ((2000, 20.0), (5000, 20.0), (10_000, 10.0))
SERVERS = ("livesale", "centrifugo")


def rows(text: str) -> list[tuple[int, float]]:
    """``2000x20,5000x20`` as [(2000, 20.0), (5000, 20.0)]."""
    parsed = []
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        viewers, sep, rate = item.lower().partition("x")
        try:
            row = (int(viewers), float(rate))
        except ValueError:
            row = (0, 0.0)
        if not sep or row[0] < 1 or row[1] <= 0:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not a row: write viewers x events/s, e.g. 2000x20"
            )
        parsed.append(row)
    if not parsed:
        raise argparse.ArgumentTypeError("no rows: write e.g. 2000x20,5000x20")
    return parsed


def servers(text: str) -> list[str]:
    """``livesale,centrifugo`` (either or both, in the order the runs take)."""
    names = [name for name in text.replace(" ", "").split(",") if name]
    unknown = [name for name in names if name not in SERVERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"servers are {' and '.join(SERVERS)}, not {text!r}")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the comparison."""
    p.add_argument(
        "--rows",
        type=rows,
        default=list(DEFAULT_ROWS),
        help="viewers x events/s of each row (default 2000x20,5000x20,10000x10)",
    )
    p.add_argument("--seconds", type=float, default=3.0, help="publishing time of each run")
    p.add_argument(
        "--servers",
        type=servers,
        default=list(SERVERS),
        help="which servers to run, in order (default livesale,centrifugo)",
    )
    p.add_argument(
        "--batch-ms", type=int, help="livesale's room batch window (default: the product's)"
    )
    p.add_argument(
        "--no-history",
        action="store_true",
        help="Centrifugo's channel keeps no history (livesale's rooms always keep theirs)",
    )
    p.add_argument(
        "--server-core",
        type=int,
        default=0,
        help="the core each server is pinned to; the clients get the others (-1: no pinning)",
    )
    p.add_argument(
        "--saturate",
        action="store_true",
        help="instead of the rows: raise events/s until a server saturates its core",
    )
    p.add_argument("--saturate-viewers", type=int, default=5000, help="viewers when saturating")
    p.add_argument("--start-rate", type=float, default=20.0, help="first events/s when saturating")
    p.add_argument("--step", type=float, default=1.5, help="events/s grow by this factor a step")
    p.add_argument("--max-steps", type=int, default=12, help="most steps of the saturation search")
    p.add_argument("--out", help="also write the figures as JSON to this file")
