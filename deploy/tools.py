"""Programs the tests need besides Redis and Kafka, from Debian's packages:

- ``chromium`` for the browser tests (Playwright drives it; Playwright's own browser
  download is not reachable from these machines);
- ``haproxy`` to check the load balancer's configuration offline;
- ``wrk``, the HTTP load generator of the benchmark commands (their smoke tests run it);
- ``ffmpeg`` for the live test stream (``livesale stream``, tests/test_video.py);
- ``valgrind`` (and ``gcc`` for its marks) to count instructions per request
  (``livesale-bench costs --count instructions``, loadtests/instructions.py).

``python -m deploy.tools`` installs whichever is missing, in one apt-get run.
"""

from __future__ import annotations

import shutil
import sys

from .processes import apt_install

CHROMIUM = "/usr/bin/chromium"
PROGRAMS = {
    "chromium": CHROMIUM,
    "haproxy": "haproxy",
    "wrk": "wrk",
    "ffmpeg": "ffmpeg",
    "valgrind": "valgrind",
    "gcc": "gcc",
}


def ensure(*packages: str) -> None:
    """Install whichever of the named programs is missing, in one apt-get run."""
    missing = [package for package in packages if not shutil.which(PROGRAMS[package])]
    if missing:
        print(f"Installing {', '.join(missing)} from Debian's packages…", file=sys.stderr)
        apt_install(*missing)


def ensure_chromium() -> str:
    """The path of Chromium, installed first when missing."""
    ensure("chromium")
    return CHROMIUM


if __name__ == "__main__":
    ensure(*PROGRAMS)
