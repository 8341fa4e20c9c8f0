"""The table and the end check of ``livesale-bench centrifugo`` (pure: figures in, text out)."""

from __future__ import annotations

from typing import Any

from .centrifugo_args import SERVERS


def shortfalls(results: dict[str, Any]) -> list[str]:
    """What a run claims and did not do: viewers not all held, events not all delivered
    (in saturation mode, where events may still be on their way, viewers not all held)."""
    wrong = []
    for row in results.get("rows", []):
        for name in SERVERS:
            run = row.get(name)
            if run is None:
                continue
            where = f"{name}, {row['viewers']} viewers x {row['events_per_s']:g} events/s"
            if "failed" in run:
                # The competitor falling over is a figure; livesale falling over is not.
                if name == "livesale":
                    wrong.append(f"{where}: {run['failed']}")
                continue
            if run["connections_held"] != run["viewers"]:
                wrong.append(f"{where}: {run['connections_held']} of {run['viewers']} held")
            if run["events_delivered"] != run["expected_deliveries"]:
                wrong.append(
                    f"{where}: {run['events_delivered']} of {run['expected_deliveries']} "
                    "events delivered"
                )
    for name, run in results.get("saturation", {}).items():
        if run["connections_held"] != run["viewers"]:
            wrong.append(f"{name}, saturation: {run['connections_held']} of {run['viewers']} held")
    return wrong


def ratio(livesale: float, centrifugo: float) -> float | None:
    """livesale / Centrifugo, or None without both figures."""
    return round(livesale / centrifugo, 2) if livesale and centrifugo else None


def _delivered(run: dict[str, Any]) -> str:
    if run["events_delivered"] == run["expected_deliveries"]:
        held = "" if run["connections_held"] == run["viewers"] else " (viewers lost)"
        return "all" + held
    return f"LOST {run['expected_deliveries'] - run['events_delivered']:,}"


def table(results: dict[str, Any]) -> list[str]:
    """The rows of the comparison, one line per server and row (none without rows)."""
    if not results.get("rows"):
        return []
    lines = [
        f"{'viewers x ev/s':<16}{'server':<12}{'p50 ms':>8}{'p99 ms':>8}{'CPU':>6}"
        f"{'KiB/viewer':>12}{'deliveries/s':>14}  delivered",
    ]
    for row in results.get("rows", []):
        label = f"{row['viewers']:,} x {row['events_per_s']:g}"
        for name in SERVERS:
            run = row.get(name)
            if run is None:
                continue
            if "failed" in run:
                lines.append(f"{label:<16}{name:<12}  broke: {run['failed'][:60]}")
                label = ""
                continue
            lines.append(
                f"{label:<16}{name:<12}{run['latency_ms_p50']:>8}{run['latency_ms_p99']:>8}"
                f"{run['server_cpu_share']:>6.0%}{run['memory_kib_per_viewer']:>12}"
                f"{run['deliveries_per_s']:>14,}  {_delivered(run)}"
            )
            label = ""
    return lines


def saturation_lines(results: dict[str, Any]) -> list[str]:
    """Deliveries/s at saturation for each server, and their ratio."""
    runs = results.get("saturation", {})
    lines = []
    for name, run in runs.items():
        where = "at saturation" if run["saturated"] else "at its best step"
        lines.append(
            f"{name}: {run['deliveries_per_s_at_saturation']:,} deliveries/s {where} "
            f"({run['viewers']:,} viewers; {run['saturated_by']})"
        )
    if "livesale" in runs and "centrifugo" in runs:
        r = ratio(
            runs["livesale"]["deliveries_per_s_at_saturation"],
            runs["centrifugo"]["deliveries_per_s_at_saturation"],
        )
        results["saturation_ratio"] = r
        if runs["livesale"]["saturated"] and runs["centrifugo"]["saturated"]:
            lines.append(f"livesale / Centrifugo at saturation: {r} (target >= 1.3)")
        else:
            lines.append(
                f"livesale / Centrifugo at their best steps: {r}, NOT a saturation ratio: "
                "a server did not saturate its core (see above)"
            )
    return lines


def report(results: dict[str, Any]) -> None:
    """Print the run's figures."""
    m = results["machine"]
    print()
    print(f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}, Python {m['python']}")
    core = results["server_core"]
    pinned = f"pinned to core {core}" if core is not None else "not pinned"
    print(
        f"Centrifugo {results['centrifugo_version']} (history "
        f"{'on' if results['centrifugo_history'] else 'off'}, GOMAXPROCS=1) and livesale, "
        f"one process each, {pinned}; {results['seconds']:g} s of events a run"
    )
    for line in [*table(results), *saturation_lines(results)]:
        print(line)
