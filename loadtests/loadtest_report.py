"""The load test's report: Locust's CSV read back, plots, the headline figures, the printout."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import orjson


def read_stats(path: Path) -> dict[str, dict[str, Any]]:
    """Locust's end-of-run statistics, per request name: count, failures, rate, p50, p99."""
    if not path.exists():
        return {}
    stats: dict[str, dict[str, Any]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            stats[f"{row['Type']} {row['Name']}".strip()] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per_s": round(float(row["Requests/s"]), 1),
                "p50_ms": _number(row["50%"]),
                "p99_ms": _number(row["99%"]),
            }
    return stats


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def history(path: Path) -> dict[str, list[float]]:
    """Per-second series from Locust's full-history CSV (all requests together).

    The rate is taken from the growth of the total request count, not from Locust's own
    smoothed "current" rate, so a one-second rush at zero shows as the spike it is.
    """
    series: dict[str, list[float]] = {"t": [], "per_s": [], "p50": [], "p99": [], "users": []}
    if not path.exists():
        return series
    last: tuple[int, int] | None = None
    with path.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] != "Aggregated":
                continue
            t, total = int(row["Timestamp"]), int(row["Total Request Count"])
            if last is not None and t > last[0]:
                series["t"].append(float(t))
                series["per_s"].append((total - last[1]) / (t - last[0]))
                series["p50"].append(_number(row["50%"]) or 0.0)
                series["p99"].append(_number(row["99%"]) or 0.0)
                series["users"].append(float(row["User Count"]))
            last = (t, total)
    return series


def plot(series: dict[str, list[float]], png: Path, title: str) -> None:
    """Throughput and p50/p99 latency over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not series["t"]:
        return
    t0 = series["t"][0]
    seconds = [t - t0 for t in series["t"]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    top.plot(seconds, series["per_s"], label="requests/s (all kinds)", color="#d6336c")
    top.set_ylabel("requests / s")
    twin = top.twinx()
    twin.plot(seconds, series["users"], label="users", color="#868e96", linestyle="--")
    twin.set_ylabel("users")
    top.set_title(title)
    top.legend(loc="upper left")
    bottom.plot(seconds, series["p50"], label="p50 (Locust, last 10 s)", color="#1c7ed6")
    bottom.plot(seconds, series["p99"], label="p99 (Locust, last 10 s)", color="#f08c00")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds into the run")
    bottom.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The few figures an operator reads first."""
    figures: dict[str, Any] = {}
    for run in summary["runs"]:
        stats = run["stats"]
        key = f"{run['scenario']}@{run['users']}"
        if run["scenario"] == "flash_sale":
            reserves = [v for k, v in stats.items() if "reserve [" in k]
            figures[key] = {
                "reservation_attempts_per_s": round(sum(s["per_s"] for s in reserves), 1),
                "peak_requests_per_s": run["peak_requests_per_s"],
                "reserve_p50_ms": max((s["p50_ms"] or 0) for s in reserves) if reserves else None,
                "reserve_p99_ms": max((s["p99_ms"] or 0) for s in reserves) if reserves else None,
                "outcomes": {
                    k.split("[")[1].rstrip("]"): s["requests"]
                    for k, s in stats.items()
                    if "reserve [" in k
                },
                "checks_passed": run["checks"]["passed"],
                "bottleneck": run["bottleneck"],
            }
        else:
            pushes = {k: s for k, s in stats.items() if k.startswith("WS push")}
            figures[key] = {
                "pushes_received_per_s": round(sum(s["per_s"] for s in pushes.values()), 1),
                "push_p50_ms": max((s["p50_ms"] or 0) for s in pushes.values()) if pushes else None,
                "push_p99_ms": max((s["p99_ms"] or 0) for s in pushes.values()) if pushes else None,
                "failures": stats.get("Aggregated", {}).get("failures"),
                "bottleneck": run["bottleneck"],
            }
            host = {k: s for k, s in stats.items() if "host:" in k}
            if host:
                figures[key]["host_actions"] = sum(s["requests"] for s in host.values())
                figures[key]["host_action_failures"] = sum(s["failures"] for s in host.values())
    if "lean" in summary:
        lean = summary["lean"]
        figures["lean_reservations"] = {
            "requests_per_s": lean["requests_per_s"],
            "p50_ms": lean["p50_ms"],
            "p99_ms": lean["p99_ms"],
            "bottleneck": lean["bottleneck"],
        }
    return figures


def print_report(summary: dict[str, Any], out: Path) -> None:
    """Print the headline figures; exit 1 when a rush failed its checks."""
    m = summary["machine"]
    print(f"\nMachine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}")
    for name, figures in summary["headline"].items():
        print(f"  {name}: {orjson.dumps(figures).decode()}")
    failed = [r for r in summary["runs"] if "checks" in r and not r["checks"]["passed"]]
    for run in failed:
        print(f"  CHECK FAILED in flash_sale@{run['users']}: {run['checks']}")
    print(f"Report: {out}/summary.json (and CSV, HTML, PNG per run)")
    if failed:
        sys.exit(1)
