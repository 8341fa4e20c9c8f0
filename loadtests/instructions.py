"""What a cost case is measured in: CPU time, or instructions counted by callgrind.

CPU time per request is what the targets of issue 18 are written in, but on a shared
machine it moves with whoever else runs: the same tree's reserving press measured 1.85 to
2.85 times the floor from one round to the next of one run. Instructions executed do not
depend on the neighbours. ``livesale-bench costs --count instructions`` runs the same cases under
Valgrind's callgrind, which counts every instruction the process executes between two
marks: counting is switched on only while a case's measured requests run (the warm-up
and the set-up run uncounted, and much faster), and each case's count is dumped to a
file of its own, read back at once.

An instruction is not a fixed slice of time (a cache miss costs more than an add), so
the two figures answer different questions: CPU time says what a request costs on this
machine today, instructions say whether a change made the code do less. What moves the
counts a little from run to run is timing that the process sees: how many presses Redis
answers together, and how many gather before a buyer-record pass.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

from deploy.settings import StackSettings
from deploy.tools import ensure

#: Set in the process that runs under callgrind: the folder its dumps go to.
DUMPS_ENV = "LIVESALE_CALLGRIND_DUMPS"

#: The two marks, as Valgrind's client requests (no-ops when not under Valgrind).
_MARKS_C = """\
#include <valgrind/callgrind.h>
int on_valgrind(void) { return RUNNING_ON_VALGRIND; }
void count_from_here(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void dump_count(const char *label) {
    CALLGRIND_STOP_INSTRUMENTATION;
    CALLGRIND_DUMP_STATS_AT(label);
}
"""


class Meter(Protocol):
    """Measures the work done between ``start`` and ``stop``."""

    #: The unit of ``stop``'s figure, as the report prints it.
    unit: str
    #: How many times longer the buyer records' gathering waits while measured, so that a
    #: pass carries about as many presses as natively.
    gather_stretch: float
    #: The share of the wall-clock time between the last ``start`` and ``stop`` the process
    #: spent working (the rest it waited, for Redis); None where the meter cannot tell.
    busy: float | None

    def start(self) -> None:
        """Begin measuring."""

    def stop(self) -> float:
        """The work done since ``start``, in ``unit``."""


class CpuMeter:
    """This process's CPU time, in microseconds."""

    unit = "us"
    gather_stretch = 1.0

    def __init__(self) -> None:
        self._started = 0.0
        self._wall_started = 0.0
        self.busy: float | None = None

    def start(self) -> None:
        """Note the CPU time used so far, and the wall clock."""
        self._started = time.process_time()
        self._wall_started = time.perf_counter()

    def stop(self) -> float:
        """Microseconds of CPU since ``start``."""
        used = time.process_time() - self._started
        self.busy = used / max(time.perf_counter() - self._wall_started, 1e-9)
        return 1e6 * used


class InstructionMeter:
    """Instructions this process executed, counted by callgrind (run under it)."""

    unit = "instructions"
    #: Calibrated, not derived: the process runs 60-75 times slower under callgrind (the
    #: floor's request 28 us natively, 2.1 ms counted; a reserving press 65 us, 4.1 ms), but
    #: it also waits far less for Redis in proportion, so a 70-fold gathering carried more
    #: presses a pass than natively (4.3 script calls per 100 reserving presses counted,
    #: 7-9 natively) and no stretch far fewer (19 calls); 25 gives 6-8.
    gather_stretch = 25.0
    #: Under callgrind the process runs far slower than Redis answers: its waits say nothing.
    busy: float | None = None

    def __init__(self, dumps: Path) -> None:
        self._dumps = dumps
        self._marks = ctypes.CDLL(str(_marks_library()))
        self._marks.dump_count.argtypes = [ctypes.c_char_p]
        if not self._marks.on_valgrind():
            raise RuntimeError("instructions are counted only under callgrind")

    def start(self) -> None:
        """Zero the count and start counting."""
        self._marks.count_from_here()

    def stop(self) -> float:
        """The instructions executed since ``start``; the count goes to a dump file."""
        self._marks.dump_count(b"case")
        return float(_total(_latest_dump(self._dumps)))


def meter() -> Meter:
    """The meter of this process: instructions when started by :func:`run_counted`."""
    dumps = os.environ.get(DUMPS_ENV)
    return InstructionMeter(Path(dumps)) if dumps else CpuMeter()


def run_counted(argv: list[str]) -> int:
    """Run this benchmark command again under callgrind, counting instructions; its exit
    status. ``argv`` are the command's arguments, ``--count instructions`` included: the
    run under callgrind sees ``DUMPS_ENV`` set and counts instead of starting another."""
    ensure("valgrind", "gcc")
    _marks_library()  # built here, so that the run under Valgrind only loads it
    with tempfile.TemporaryDirectory(prefix="livesale-callgrind-") as dumps:
        command = [
            shutil.which("valgrind") or "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",  # nothing counted until a case says so
            f"--callgrind-out-file={dumps}/callgrind.out.%p",
            sys.executable,
            "-c",
            "from loadtests.cli import main; main()",
            *argv,
        ]
        # The same hashes in every run: dict and set layouts then do not move the counts.
        env = {**os.environ, DUMPS_ENV: dumps, "PYTHONHASHSEED": "0"}
        return subprocess.run(command, env=env, check=False).returncode


def _marks_library() -> Path:
    """The compiled marks, built once into the cache (outside the repository)."""
    folder = StackSettings.from_env().cache_dir / "callgrind-marks"
    library = folder / f"marks-{hashlib.sha256(_MARKS_C.encode()).hexdigest()[:12]}.so"
    if library.exists():
        return library
    folder.mkdir(parents=True, exist_ok=True)
    # A source and a library of this build's own, moved into place whole: two runs building
    # at once never read each other's half-written files.
    source = folder / f"marks-{os.getpid()}.c"
    built = folder / f"{library.name}.{os.getpid()}"
    source.write_text(_MARKS_C)
    try:
        done = subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O1", "-o", str(built), str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                "Could not build the callgrind marks (gcc, libc6-dev and valgrind's headers "
                f"are needed):\n{done.stderr[-1000:]}"
            )
        built.replace(library)
    finally:
        source.unlink(missing_ok=True)
        built.unlink(missing_ok=True)
    return library


def _latest_dump(dumps: Path) -> Path:
    """The last dump callgrind wrote (``callgrind.out.<pid>.<n>``, n counting up)."""
    # This process's own dumps (a process it forks would write its own).
    numbered = [p for p in dumps.glob(f"callgrind.out.{os.getpid()}.*") if p.suffix[1:].isdigit()]
    if not numbered:
        raise RuntimeError(f"callgrind wrote no dump into {dumps}")
    return max(numbered, key=lambda p: int(p.suffix[1:]))


def _total(dump: Path) -> int:
    """The instructions a dump counted (its ``totals:`` line)."""
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"{dump} has no totals line")
