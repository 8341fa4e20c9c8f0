"""The web pages: the host console and the viewer's room page (plain HTML, CSS and JS)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ..errors import ErrorCode
from .described import Auth, Content, answers
from .paths import room_in_path

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


_HTML = {200: Content("text/html")}


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(WEB / name, headers=PAGE_HEADERS)


@answers(Auth.ANYONE, _HTML, uses_redis=False)
async def home(request: web.Request) -> web.FileResponse:
    """The front page."""
    return _page("index.html")


@answers(Auth.ANYONE, _HTML, uses_redis=False)
async def console(request: web.Request) -> web.FileResponse:
    """The host console."""
    return _page("console.html")


@answers(Auth.ANYONE, _HTML, {404: (ErrorCode.UNKNOWN_ROOM,)}, uses_redis=False)
async def watch(request: web.Request) -> web.FileResponse:
    """A room's viewer page."""
    room_in_path(request)
    return _page("watch.html")


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
    app.router.add_get("/", home)
    app.router.add_get("/console", console)
    app.router.add_get("/watch/{room_id}", watch)
    app.router.add_get("/static/{filename}", static_file)
