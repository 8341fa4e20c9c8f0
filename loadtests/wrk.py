"""Running wrk: its rate and latency, and the answers of a storm of fresh POSTs by signed-in
viewers (``wrk_storm.lua``), as the reservation and coupon-claim benchmarks use it."""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

STORM_SCRIPT = Path(__file__).with_name("wrk_storm.lua")
_STATUS = re.compile(r"STATUS 200=(\d+) 201=(\d+) 409=(\d+) other=(\d+)")


def storm_script(directory: Path, tokens: list[str], path: str, body: str) -> Path:
    """A wrk script POSTing ``body`` (a Lua format: ``%s`` is the request's idempotency key)
    to ``path``, as the viewers of ``tokens`` in turn, with keys new to this run."""
    lua = STORM_SCRIPT.read_text()
    lua = lua.replace(
        "local tokens = TOKENS", "local tokens = {" + ",".join(f'"{t}"' for t in tokens) + "}"
    )
    lua = lua.replace("local path = PATH", f'local path = "{path}"')
    lua = lua.replace("local body_format = BODY", f"local body_format = '{body}'")
    lua = lua.replace("local round = ROUND", f'local round = "{secrets.token_hex(6)}"')
    target = directory / f"storm-{secrets.token_hex(4)}.lua"
    target.write_text(lua)
    return target


def run_wrk(
    url: str, connections: int, seconds: float, script: Path | None = None
) -> dict[str, Any]:
    """wrk's requests a second and p50/p99, and with a storm script the count of each answer
    (``statuses``: 200, 201, 409 and "other")."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    figures: dict[str, Any] = {
        "requests_per_s": float(rate.group(1)),
        **{
            f"p{pct}": match.group(1)
            if (match := re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M))
            else None
            for pct in ("50", "99")
        },
    }
    if script is not None:
        found = _STATUS.search(out)
        if found is None:
            raise RuntimeError(f"wrk did not report the answers:\n{out}")
        ok, created, conflict, other = (int(g) for g in found.groups())
        figures["statuses"] = {"200": ok, "201": created, "409": conflict, "other": other}
    return figures
