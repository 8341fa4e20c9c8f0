"""Debian's Chromium for the browser tests (Playwright drives it; its own download is not
reachable from these machines). ``python -m deploy.browser`` installs it when missing."""

from __future__ import annotations

import shutil
import sys

from .stack import apt_install

CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> str:
    if not shutil.which(CHROMIUM):
        print("Installing Debian's chromium for the browser tests…", file=sys.stderr)
        apt_install("chromium")
    return CHROMIUM


if __name__ == "__main__":
    ensure_chromium()
