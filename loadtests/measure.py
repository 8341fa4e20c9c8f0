"""What a benchmark report says about where it ran and who used the CPU."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import psutil


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, Python and kernel of this machine."""
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


class CpuSampler:
    """CPU used by named processes (and their children) between ``start`` and ``stop``.

    Figures are percent of one core, so 200 means both cores of a 2-core machine. Call
    ``poll`` about once a second while the run goes on: it keeps the figures of a process
    that exits before ``stop`` (a finished load generator), and finds the busiest second.
    """

    def __init__(
        self, pids: dict[str, int | None], own_only: frozenset[str] | set[str] = frozenset()
    ) -> None:
        self._pids = {name: pid for name, pid in pids.items() if pid}
        self._own_only = own_only
        self._samples: list[tuple[float, dict[str, float]]] = []
        self._last: dict[str, float] = {}

    def _cpu_seconds(self, name: str, pid: int) -> float:
        try:
            process = psutil.Process(pid)
            total = 0.0
            family = [] if name in self._own_only else process.children(recursive=True)
            for p in [process, *family]:
                times = p.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
            self._last[name] = total
        except psutil.Error:
            pass  # gone: its last reading stands
        return self._last.get(name, 0.0)

    def poll(self) -> None:
        """Take one reading of every process's CPU time."""
        now = time.monotonic()
        self._samples.append(
            (now, {name: self._cpu_seconds(name, pid) for name, pid in self._pids.items()})
        )

    def start(self) -> None:
        """Forget earlier readings and take the first one."""
        self._samples = []
        self.poll()

    @contextlib.contextmanager
    def polling(self, every_s: float = 1.0) -> Iterator[None]:
        """Poll from a thread while the block runs (for a block that holds the caller)."""
        done = threading.Event()

        def poll_until_done() -> None:
            while not done.wait(every_s):
                self.poll()

        thread = threading.Thread(target=poll_until_done, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def stop(self) -> dict[str, float]:
        """Average CPU per process over the run."""
        self.poll()
        (t0, first), (t1, last) = self._samples[0], self._samples[-1]
        elapsed = max(t1 - t0, 1e-9)
        return {name: round(100 * (last[name] - first[name]) / elapsed, 1) for name in first}

    def peak(self) -> dict[str, float]:
        """CPU per process in its busiest interval between polls."""
        peaks: dict[str, float] = {}
        for (t0, before), (t1, after) in zip(self._samples, self._samples[1:], strict=False):
            if t1 - t0 < 0.5:
                continue
            for name in before:
                used = 100 * (after[name] - before[name]) / (t1 - t0)
                peaks[name] = round(max(peaks.get(name, 0.0), used), 1)
        return peaks


def busiest(cpu: dict[str, float]) -> str:
    """Names the process that used the most CPU, and says whether it was saturated."""
    if not cpu:
        return "unknown"
    name, used = max(cpu.items(), key=lambda item: item[1])
    cores = os.cpu_count() or 1
    # One Python or Redis process can use one core; the machine has ``cores`` in all.
    if sum(cpu.values()) >= 90 * cores:
        return f"the machine's CPU (all {cores} cores busy; most by {name}: {used:.0f}%)"
    if used >= 90:
        return f"CPU of {name} ({used:.0f}% of a core: one process, one core)"
    return f"none saturated (most CPU: {name}, {used:.0f}% of a core)"


def median_run(runs: list[dict[str, Any]], rate: str) -> dict[str, Any]:
    """The round with the median ``rate``; its latencies and counts go with it, so a
    report's figures all come from one real round."""
    return sorted(runs, key=lambda r: float(r[rate]))[len(runs) // 2]


#: Open files a server process needs besides its viewers' sockets (listening socket, Redis
#: and Kafka connections, the event loop's own descriptors), with room to spare.
SERVER_OWN_FILES = 200


def check_open_files(limit: int, viewers: int) -> None:
    """Stop with one clear line when a process here may not hold that many viewers."""
    if viewers + SERVER_OWN_FILES > limit:
        sys.exit(
            f"A process on this machine may hold {limit:,} open files (its hard limit, which"
            f" only a privileged process can raise): at most {limit - SERVER_OWN_FILES:,}"
            f" viewers per server, not {viewers:,}"
        )


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user and system), in seconds."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)
