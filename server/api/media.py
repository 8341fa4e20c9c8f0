"""Video the pages play from this server: hls.js (fetched at set-up into web/vendor/, see
deploy/web_assets.py) and the local test stream's HLS files (``livesale stream`` writes them
into LIVESALE_MEDIA_DIR)."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from ..appkeys import SETTINGS
from ..errors import ErrorCode
from .described import Auth, Content, answers
from .paths import room_in_path
from .routing import Routes

VENDOR = Path(__file__).parent.parent / "web" / "vendor"
#: The vendor files the app serves, when the set-up installed them.
VENDOR_FILES = {
    "hls.min.mjs": "text/javascript",
    "hls.js.LICENSE": "text/plain",
}
#: HLS playlists and segments, by extension.
MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
}
_MEDIA_FILE = re.compile(r"[A-Za-z0-9_-]{1,64}\.(m3u8|ts|m4s|mp4)")


@answers(Auth.ANYONE, {200: Content("*/*")}, {404: (ErrorCode.NOT_FOUND,)}, uses_redis=False)
async def vendor_file(request: web.Request) -> web.FileResponse:
    """A third-party file of the pages (hls.js), installed by the set-up; 404 without it."""
    name = request.match_info["filename"]
    path = VENDOR / name
    if name not in VENDOR_FILES or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={"Content-Type": VENDOR_FILES[name], "X-Content-Type-Options": "nosniff"},
    )


@answers(
    Auth.ANYONE,
    {200: Content("*/*")},
    {404: (ErrorCode.NOT_FOUND, ErrorCode.UNKNOWN_ROOM)},
    uses_redis=False,
)
async def media_file(request: web.Request) -> web.FileResponse:
    """A playlist or segment of a room's local test stream (LIVESALE_MEDIA_DIR)."""
    room_id = room_in_path(request)
    name = request.match_info["filename"]
    folder = request.app[SETTINGS].schedule.media_dir
    if folder is None or not _MEDIA_FILE.fullmatch(name):
        raise web.HTTPNotFound()
    path = folder / room_id / name
    if not path.is_file():
        raise web.HTTPNotFound()
    media_type = MEDIA_TYPES[path.suffix]
    # A live playlist changes every segment: never cached; segments never change.
    cache = "no-cache" if path.suffix == ".m3u8" else "max-age=60"
    return web.FileResponse(path, headers={"Content-Type": media_type, "Cache-Control": cache})


def add_routes(app: web.Application) -> None:
    """The vendor and media routes."""
    routes = Routes(app)
    routes.get("/vendor/{filename}", vendor_file)
    routes.get("/media/{room_id}/{filename}", media_file)
