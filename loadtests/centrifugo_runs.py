"""The runs of ``livesale-bench centrifugo``: a room of lean viewers on one server (livesale
or Centrifugo, a ``Target``), its events published at a rate, counted and timed.

The timed viewers (1 in 50) read here as frames arrive; the others are counted in sweeps in
a process of their own (loadtests/room_clients.py), as in ``livesale-bench room``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import psutil

from .room_clients import Totals, Viewer, hold_quiet_viewers, open_viewers

#: One viewer in this many records each event's delay.
SAMPLE_EVERY = 50
#: How often the counted-only viewers read their sockets.
QUIET_SWEEP_S = 0.25
#: Viewers joining at once, timed and quiet together.
JOIN_GROUP = 500
#: A saturation step ends the search when the server falls behind (its p99 delay passes
#: this), or when deliveries/s grew less than this factor over the best step before. A full
#: core alone does not end it: a server that batches delivers more events per write as the
#: rate rises, so its deliveries keep growing on a core that was already full.
FALLING_BEHIND_MS = 1000.0
STILL_GROWING = 1.05
#: The clients' cores count as full (their limit, not the server's, is measured) past this.
SATURATED_CPU = 0.95

#: Publishes in flight at most (then the rate falls, and published_per_s says so).
PUBLISHING = 64

Publish = Callable[[int], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Target:
    """One server under test, as the clients see it."""

    name: str
    pid: int
    port: int
    path: str
    hello: bytes
    ready: bytes
    stamp: re.Pattern[bytes]
    publisher: Callable[[], contextlib.AbstractAsyncContextManager[Publish]]


def _rss_kib(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss // 1024)


def _cpu_seconds(pid: int, children: bool = True) -> float:
    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *(process.children(recursive=True) if children else [])]:
        times = p.cpu_times()
        total += times.user + times.system
    return total


class Room:
    """A server's room of viewers: the timed ones read here, the counted-only ones in a
    process of their own (room_clients.hold_quiet_viewers)."""

    def __init__(self, target: Target, viewers: int) -> None:
        self.target = target
        self.viewers = viewers
        self.timed_count = max(1, viewers // SAMPLE_EVERY)
        self.totals = Totals()
        self.timed: list[Viewer] = []
        self.quiet_events = 0
        self.quiet_open = 0
        self.pipe, child_end = multiprocessing.Pipe()
        t = target
        self.holder = multiprocessing.get_context("spawn").Process(
            target=hold_quiet_viewers,
            args=(
                t.port,
                t.path,
                viewers - self.timed_count,
                JOIN_GROUP - JOIN_GROUP // SAMPLE_EVERY,
            ),
            kwargs={
                "period_s": QUIET_SWEEP_S,
                "pipe": child_end,
                "hello": t.hello,
                "ready": t.ready,
            },
        )

    async def join(self) -> None:
        """All viewers joined, the timed ones spread through the join order (1 in 50)."""
        self.holder.start()
        loop = asyncio.get_running_loop()
        while True:
            said = await loop.run_in_executor(None, self.pipe.recv)
            if "open" in said:
                self.quiet_open = said["open"]
                break
            turn = min(JOIN_GROUP // SAMPLE_EVERY, self.timed_count - len(self.timed))
            self.timed += await self._open(turn)
            self.pipe.send("joined")
        self.timed += await self._open(self.timed_count - len(self.timed))

    async def _open(self, count: int) -> list[Viewer]:
        t = self.target
        return await open_viewers(
            t.port, t.path, count, self.totals, sample_every=1,
            hello=t.hello, ready=t.ready, stamp=t.stamp,
        )  # fmt: skip

    async def counts(self, word: str = "count") -> tuple[int, int]:
        """(events counted by every viewer so far, viewers still connected)."""
        self.pipe.send(word)
        said = await asyncio.get_running_loop().run_in_executor(None, self.pipe.recv)
        self.quiet_events = said["events"]
        held = said["open"] + sum(
            1 for v in self.timed if v.transport is not None and not v.transport.is_closing()
        )
        return self.totals.events + self.quiet_events, held

    async def leave(self) -> tuple[int, int]:
        """The final counts; every viewer disconnected."""
        counted = await self.counts("stop")
        self.holder.join()
        for viewer in self.timed:
            if viewer.transport is not None:
                viewer.transport.close()
        return counted

    def clients_cpu_seconds(self) -> float:
        """CPU the clients (this process and the quiet viewers' one) used so far."""
        # Not this process's children: the server under test is one of them.
        own = _cpu_seconds(os.getpid(), children=False)
        return own + (_cpu_seconds(self.holder.pid) if self.holder.pid else 0.0)


async def _publish_for(publish: Publish, rate: float, seconds: float, first: int) -> int:
    """Publish at a steady ``rate`` for ``seconds``; how many were published.

    Each event starts in its slot without waiting for the one before to be answered (up to
    PUBLISHING at once): a publish into Centrifugo is an HTTP request its busy process
    answers, and a publisher that waited for each answer would slow the rate down just as
    the server is loaded. Both servers are published to alike.
    """
    interval = 1 / rate
    begin = time.monotonic()
    published = 0
    going: set[asyncio.Task[None]] = set()
    while time.monotonic() - begin < seconds:
        if len(going) >= PUBLISHING:
            done, going = await asyncio.wait(going, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        going.add(asyncio.create_task(publish(first + published)))
        published += 1
        # A steady rate: sleep until the next event's slot.
        await asyncio.sleep(max(0.0, begin + published * interval - time.monotonic()))
    # Every publish answered (and any failure raised) before the counts are taken.
    await asyncio.gather(*going)
    return published


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values) or [0.0]
    return round(ordered[max(0, int(len(ordered) * share) - 1)], 1)


async def broadcast(target: Target, viewers: int, rate: float, seconds: float) -> dict[str, Any]:
    """One row for one server: join the viewers, publish, count and time the events."""
    room = Room(target, viewers)
    rss_before = _rss_kib(target.pid)
    started = time.monotonic()
    await room.join()
    connect_s = time.monotonic() - started
    await asyncio.sleep(2)
    rss_after = _rss_kib(target.pid)
    room.totals.events, room.totals.latencies_ms = 0, []
    await room.counts()
    quiet_before = room.quiet_events
    cpu_before = _cpu_seconds(target.pid), room.clients_cpu_seconds()
    begin = time.monotonic()
    async with target.publisher() as publish:
        published = await _publish_for(publish, rate, seconds, 0)
    # Time for the last events to arrive (and to be swept).
    await asyncio.sleep(1.0)
    elapsed = time.monotonic() - begin
    server_cpu = (_cpu_seconds(target.pid) - cpu_before[0]) / elapsed
    clients_cpu = (room.clients_cpu_seconds() - cpu_before[1]) / elapsed
    delivered, held = await room.leave()
    delivered -= quiet_before
    return {
        "server": target.name,
        "viewers": viewers,
        "events_per_s": rate,
        "viewers_timed": len(room.timed),
        "connections_held": held,
        "connect_seconds": round(connect_s, 1),
        "server_rss_mib_before": round(rss_before / 1024, 1),
        "server_rss_mib_with_viewers": round(rss_after / 1024, 1),
        "memory_kib_per_viewer": round((rss_after - rss_before) / viewers, 1),
        "events_published": published,
        "events_delivered": delivered,
        "expected_deliveries": published * viewers,
        "all_delivered": delivered == published * viewers,
        "deliveries_per_s": round(delivered / elapsed),
        "latency_ms_p50": _percentile(room.totals.latencies_ms, 0.5),
        "latency_ms_p99": _percentile(room.totals.latencies_ms, 0.99),
        "latency_samples": len(room.totals.latencies_ms),
        "server_cpu_share": round(server_cpu, 2),
        "clients_cpu_share": round(clients_cpu, 2),
    }


def saturated(p99_ms: float, deliveries_per_s: float, best: float) -> str:
    """Why a saturation step ends the search ("" if it does not)."""
    if p99_ms > FALLING_BEHIND_MS:
        return f"fell behind (p99 {p99_ms:,.0f} ms)"
    if best and deliveries_per_s < best * STILL_GROWING:
        return f"deliveries/s stopped growing ({deliveries_per_s:,.0f} after {best:,.0f})"
    return ""


async def saturate(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """Raise events/s step by step over the same viewers until the server saturates."""
    room = Room(target, args.saturate_viewers)
    await room.join()
    await asyncio.sleep(2)
    steps: list[dict[str, Any]] = []
    rate, best, published, why, client_bound = args.start_rate, 0.0, 0, "", ""
    client_cores = len(os.sched_getaffinity(0))
    async with target.publisher() as publish:
        for _ in range(args.max_steps):
            room.totals.latencies_ms = []
            before, _held = await room.counts()
            cpu_before = _cpu_seconds(target.pid), room.clients_cpu_seconds()
            begin = time.monotonic()
            sent = await _publish_for(publish, rate, args.seconds, published)
            published += sent
            after, held = await room.counts()
            elapsed = time.monotonic() - begin
            server_cpu = (_cpu_seconds(target.pid) - cpu_before[0]) / elapsed
            clients_cpu = (room.clients_cpu_seconds() - cpu_before[1]) / elapsed
            step = {
                "events_per_s": round(rate, 1),
                "published_per_s": round(sent / elapsed, 1),
                "deliveries_per_s": round((after - before) / elapsed),
                "server_cpu_share": round(server_cpu, 2),
                "clients_cpu_share": round(clients_cpu, 2),
                "latency_ms_p50": _percentile(room.totals.latencies_ms, 0.5),
                "latency_ms_p99": _percentile(room.totals.latencies_ms, 0.99),
                "connections_held": held,
            }
            steps.append(step)
            print(
                f"  {target.name}: {step['events_per_s']} events/s -> "
                f"{step['deliveries_per_s']:,} deliveries/s, server CPU "
                f"{step['server_cpu_share']:.0%}, clients {step['clients_cpu_share']:.0%}",
                flush=True,
            )
            why = saturated(step["latency_ms_p99"], step["deliveries_per_s"], best)
            if not why or best == 0:  # a step that fell behind is not a rate it sustains
                best = max(best, step["deliveries_per_s"])
            if not why and clients_cpu >= SATURATED_CPU * client_cores:
                # Past here the figures would be the clients' limit, not the server's.
                client_bound = f"the clients' {client_cores} core(s) were full"
            if why or client_bound or held != args.saturate_viewers:
                break
            rate *= args.step
    await asyncio.sleep(1.0)
    _delivered, held = await room.leave()
    return {
        "server": target.name,
        "viewers": args.saturate_viewers,
        "saturated": bool(why),
        "saturated_by": why or client_bound or f"not saturated in {args.max_steps} steps",
        "deliveries_per_s_at_saturation": round(best),
        "connections_held": held,
        "steps": steps,
    }
