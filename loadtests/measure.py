"""What a benchmark report says about where it ran and who used the CPU."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import psutil


def machine() -> dict[str, Any]:
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

    Figures are percent of one core, so 200 means both cores of a 2-core machine.
    """

    def __init__(
        self, pids: dict[str, int | None], own_only: frozenset[str] | set[str] = frozenset()
    ) -> None:
        self._pids = {name: pid for name, pid in pids.items() if pid}
        self._own_only = own_only
        self._start: dict[str, float] = {}
        self._started_at = 0.0

    def _cpu_seconds(self, name: str, pid: int) -> float:
        try:
            process = psutil.Process(pid)
            total = 0.0
            family = [] if name in self._own_only else process.children(recursive=True)
            for p in [process, *family]:
                times = p.cpu_times()
                total += times.user + times.system
            return total
        except psutil.Error:
            return 0.0

    def start(self) -> None:
        self._started_at = time.monotonic()
        self._start = {name: self._cpu_seconds(name, pid) for name, pid in self._pids.items()}

    def stop(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._started_at, 1e-9)
        return {
            name: round(100 * (self._cpu_seconds(name, pid) - self._start[name]) / elapsed, 1)
            for name, pid in self._pids.items()
        }


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
