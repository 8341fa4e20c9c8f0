"""A live HLS test pattern for the local stack: ffmpeg (Debian's package) encodes a moving
test picture and a tone, as a live playlist whose old segments are deleted, into
``MEDIA_DIR/ROOM/`` where ``livesale serve`` serves it at ``/media/ROOM/index.m3u8``.

H.264 baseline and AAC in MPEG-TS segments: what Safari plays natively and Debian's
Chromium plays through hls.js (Media Source Extensions).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .processes import StackError
from .settings import StackSettings
from .tools import ensure

#: Seconds of video per segment, and segments a live playlist lists.
SEGMENT_S = 1
LISTED_SEGMENTS = 6
PLAYLIST = "index.m3u8"


def media_dir(configured: str | None, stack: StackSettings | None = None) -> Path:
    """Where test streams go: the folder configured (LIVESALE_MEDIA_DIR, --dir), else the
    local stack's media/."""
    if configured:
        return Path(configured).expanduser()
    return (stack or StackSettings.from_env()).state_dir / "media"


def ffmpeg_command(ffmpeg: str, out: Path, size: str = "640x360", rate: int = 25) -> list[str]:
    """The ffmpeg command that writes a live test stream into ``out``."""
    return [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "baseline",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(rate * SEGMENT_S),
        "-sc_threshold",
        "0",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "hls",
        "-hls_time",
        str(SEGMENT_S),
        "-hls_list_size",
        str(LISTED_SEGMENTS),
        "-hls_flags",
        "delete_segments+omit_endlist+temp_file",
        "-hls_segment_filename",
        str(out / "seg-%06d.ts"),
        str(out / PLAYLIST),
    ]


def start(room_id: str, folder: Path) -> subprocess.Popen[bytes]:
    """Start ffmpeg writing the room's test stream (installed first when missing); the
    room's folder is emptied first, so a player never mixes two runs' segments."""
    ensure("ffmpeg")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise StackError("ffmpeg is not installed: apt-get install ffmpeg")
    out = folder / room_id
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return subprocess.Popen(ffmpeg_command(ffmpeg, out), stdin=subprocess.DEVNULL)
