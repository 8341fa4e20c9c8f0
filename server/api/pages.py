"""The web pages: the host console and the viewer's room page (plain HTML, CSS and JS)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ..appkeys import SETTINGS
from ..errors import ErrorCode
from .described import Auth, Content, answers
from .paths import room_in_path
from .routing import Routes

WEB = Path(__file__).parent.parent / "web"
STATIC = WEB / "static"
#: The pages' files, fixed with the package: a name not listed never reaches the disk.
STATIC_FILES = frozenset(p.name for p in STATIC.iterdir() if p.is_file())
#: Pages run only their own scripts; product images may come from any https site.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; connect-src 'self'; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def content_security_policy(media_origins: tuple[str, ...]) -> str:
    """The pages' policy, with video from this server and the operator's media origins
    (LIVESALE_MEDIA_ORIGINS) only: hls.js fetches playlists and segments (connect-src) and
    plays them through a blob: MediaSource URL (media-src)."""
    media = " ".join(("'self'", *media_origins))
    return CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'", f"connect-src {media}; media-src {media} blob:"
    )


_HTML = {200: Content("text/html")}


def _page(request: web.Request, name: str) -> web.FileResponse:
    origins = request.app[SETTINGS].schedule.media_origins
    headers = {**PAGE_HEADERS, "Content-Security-Policy": content_security_policy(origins)}
    return web.FileResponse(WEB / name, headers=headers)


@answers(Auth.ANYONE, _HTML, uses_redis=False)
async def home(request: web.Request) -> web.FileResponse:
    """The front page."""
    return _page(request, "index.html")


@answers(Auth.ANYONE, _HTML, uses_redis=False)
async def console(request: web.Request) -> web.FileResponse:
    """The host console."""
    return _page(request, "console.html")


@answers(Auth.ANYONE, _HTML, {404: (ErrorCode.UNKNOWN_ROOM,)}, uses_redis=False)
async def watch(request: web.Request) -> web.FileResponse:
    """A room's viewer page."""
    room_in_path(request)
    return _page(request, "watch.html")


@answers(Auth.ANYONE, {200: Content("*/*")}, {404: (ErrorCode.NOT_FOUND,)}, uses_redis=False)
async def static_file(request: web.Request) -> web.FileResponse:
    """A file of the pages: a script, a style sheet or an image."""
    name = request.match_info["filename"]
    if name not in STATIC_FILES:
        # Answered like any unknown address (aiohttp's own static route sends an empty 404).
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name)


def add_routes(app: web.Application) -> None:
    """The page routes and static files."""
    routes = Routes(app)
    routes.get("/", home)
    routes.get("/console", console)
    routes.get("/watch/{room_id}", watch)
    routes.get("/static/{filename}", static_file)
