"""Third-party files the pages use, fetched from the npm registry at set-up, never at run time.

hls.js plays HLS in browsers without native HLS (Chromium, Firefox): the viewer page loads
it from this server (``/vendor/hls.min.mjs``), never from a third-party site. The version is
pinned and the package's tarball checked against the registry's sha512 before anything is
unpacked into ``server/web/vendor/`` (ignored by git). Without it the package still runs:
the page plays HLS where the browser does natively, and otherwise says it cannot.

``python -m deploy.web_assets`` (run by ``make run``, ``make test`` and
``livesale stack up``) installs it when missing or of another version.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .processes import StackError, apt_install

HLS_VERSION = "1.7.4"
#: The registry's ``dist.integrity`` of hls.js@HLS_VERSION.
HLS_INTEGRITY = (
    "sha512-3GlxGdPvT2YHvQYOt+yOzT/DEior/qJVNIylHA77kgeoBTdQQqi70Gwef"
    "NEUmHQeNGyjC8U62+bruqW/Tpm+tg=="
)
VENDOR = Path(__file__).parent.parent / "server" / "web" / "vendor"
#: What the app serves from the vendor folder: files taken from the package, by name.
FILES = {"hls.min.mjs": "package/dist/hls.min.mjs", "hls.js.LICENSE": "package/LICENSE"}
VERSION_FILE = "hls.js.VERSION"


def installed_version(vendor: Path = VENDOR) -> str | None:
    """The hls.js version in the vendor folder, if every file of it is there."""
    marker = vendor / VERSION_FILE
    if not marker.is_file() or not all((vendor / name).is_file() for name in FILES):
        return None
    return marker.read_text().strip()


def integrity(tarball: Path) -> str:
    """The npm ``integrity`` string (sha512, base64) of a file."""
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def ensure_hls(vendor: Path = VENDOR) -> Path:
    """hls.js@HLS_VERSION in ``vendor``, fetched with npm and checked when missing."""
    if installed_version(vendor) == HLS_VERSION:
        return vendor / "hls.min.mjs"
    if shutil.which("npm") is None:
        print("Installing npm from Debian's packages (to fetch hls.js)…", file=sys.stderr)
        apt_install("npm")
    npm = shutil.which("npm")
    if npm is None:
        raise StackError("npm is needed once to fetch hls.js: apt-get install npm")
    print(f"Fetching hls.js {HLS_VERSION} from the npm registry…", file=sys.stderr)
    with tempfile.TemporaryDirectory() as work:
        result = subprocess.run(
            [npm, "pack", f"hls.js@{HLS_VERSION}", "--silent", "--pack-destination", work],
            capture_output=True,
            text=True,
            check=False,
        )
        tarballs = list(Path(work).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise StackError(f"npm pack hls.js@{HLS_VERSION} failed: {result.stderr[-1000:]}")
        if integrity(tarballs[0]) != HLS_INTEGRITY:
            raise StackError(f"hls.js@{HLS_VERSION}: the tarball's sha512 is not the pinned one")
        vendor.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarballs[0]) as tar:
            for name, member in FILES.items():
                source = tar.extractfile(member)
                if source is None:
                    raise StackError(f"hls.js@{HLS_VERSION} has no {member}")
                (vendor / name).write_bytes(source.read())
    (vendor / VERSION_FILE).write_text(HLS_VERSION + "\n")
    return vendor / "hls.min.mjs"


if __name__ == "__main__":
    try:
        print(ensure_hls())
    except StackError as exc:
        sys.exit(f"deploy.web_assets: {exc}")
