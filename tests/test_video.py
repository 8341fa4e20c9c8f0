"""The show's video: the local test stream (ffmpeg, served at /media/), hls.js served by the
app from the set-up's vendor folder, the pages' media policy, and the viewer page playing
the live stream (and the replay after the show) in a real Chromium, phone-sized."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, Route, ViewportSize, async_playwright, expect
from redis.asyncio import Redis

from deploy import test_stream, web_assets
from deploy.tools import ensure_chromium
from server.api.pages import content_security_policy
from server.app import create_app
from server.settings import Settings, _schedule

from .conftest import AiohttpClient
from .helpers import HOST, HOST_ID, HOST_PASSWORD

SCREENSHOTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
ROOM = "video-1"
STREAM = f"/media/{ROOM}/index.m3u8"
Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="module")
def hls_installed() -> Path:
    """hls.js as the set-up installs it (fetched once, checked against its pinned sha512)."""
    return web_assets.ensure_hls()


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def stream(media: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`livesale stream`'s ffmpeg writing the room's live test pattern, until the test ends."""
    ffmpeg = test_stream.start(ROOM, media)
    playlist = media / ROOM / test_stream.PLAYLIST
    deadline = time.monotonic() + 30
    while not (playlist.exists() and playlist.read_text().count("#EXTINF") >= 2):
        assert ffmpeg.poll() is None, "ffmpeg stopped"
        assert time.monotonic() < deadline, "ffmpeg wrote no playlist"
        time.sleep(0.2)
    yield ffmpeg
    ffmpeg.terminate()
    ffmpeg.wait(10)


@pytest.fixture
def video_settings(app_settings: Settings, media: Path) -> Settings:
    schedule = dataclasses.replace(
        app_settings.schedule, media_dir=media, media_origins=("https://cdn.example.com",)
    )
    return dataclasses.replace(app_settings, demo_viewer_tokens=True, schedule=schedule)


@pytest.fixture
async def vclient(aiohttp_client: AiohttpClient, video_settings: Settings, redis: Redis) -> Client:
    return await aiohttp_client(create_app(video_settings))


@pytest.fixture
def base_url(vclient: Client) -> str:
    """The address of vclient's server, for the browser."""
    return str(vclient.make_url("")).rstrip("/")


@pytest.fixture
async def browser(vclient: Client) -> AsyncIterator[Browser]:
    """Chromium, closed before the server (its pages would keep polling the stream)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=ensure_chromium(),
            args=["--no-sandbox"],
            headless=True,
        )
        yield browser
        await browser.close()


async def show_with_stream(client: Client, status: str = "live", **setup: str) -> None:
    """A show in ROOM with the given set-up, live (or ended) when asked."""
    body = {"room_id": ROOM, "title": "Test pattern live", "products": []}
    assert (await client.post("/api/shows", json=body, headers=HOST)).status == 201
    resp = await client.patch(f"/api/shows/{ROOM}/setup", json=setup, headers=HOST)
    assert resp.status == 200, await resp.text()
    if status in ("live", "ended"):
        assert (await client.post(f"/api/shows/{ROOM}/live", headers=HOST)).status == 200
    if status == "ended":
        assert (await client.post(f"/api/shows/{ROOM}/end", headers=HOST)).status == 200


async def phone_page(browser: Browser, url: str, viewport: ViewportSize = PHONE) -> Page:
    phone = viewport == PHONE
    context = await browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    page = await context.new_page()
    await page.goto(url)
    return page


async def current_time(page: Page) -> float:
    return float(await page.eval_on_selector("#stage-video", "v => v.currentTime"))


async def time_advances(page: Page) -> None:
    """The video plays: its currentTime passes a second, then moves on from there."""
    await page.wait_for_function(
        "() => document.querySelector('#stage-video').currentTime > 1", timeout=30_000
    )
    first = await current_time(page)
    await page.wait_for_function(
        f"() => document.querySelector('#stage-video').currentTime > {first} + 1", timeout=30_000
    )
    assert await current_time(page) > first


# ------------------------------------------------------------------ served by the app


async def test_the_pages_allow_media_only_from_the_server_and_the_operators_origins(
    vclient: Client,
) -> None:
    policy = (await vclient.get(f"/watch/{ROOM}")).headers["Content-Security-Policy"]
    assert "media-src 'self' https://cdn.example.com blob:" in policy
    assert "connect-src 'self' https://cdn.example.com;" in policy
    assert "script-src 'self';" in policy
    assert content_security_policy(()).count("media-src 'self' blob:") == 1


def test_media_origins_must_be_origins() -> None:
    assert _schedule({"LIVESALE_MEDIA_ORIGINS": "https://a.example, http://b.example:8080/"})
    for bad in ("cdn.example.com", "https://a.example/path", "https://a.example; script-src *"):
        with pytest.raises(ValueError, match="LIVESALE_MEDIA_ORIGINS"):
            _schedule({"LIVESALE_MEDIA_ORIGINS": bad})


async def test_hls_js_is_served_by_the_app_at_its_pinned_version(
    vclient: Client, hls_installed: Path
) -> None:
    resp = await vclient.get("/vendor/hls.min.mjs")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert len(await resp.read()) == len(hls_installed.read_bytes())  # noqa: ASYNC240
    assert web_assets.installed_version() == web_assets.HLS_VERSION
    for name in ("hls.js.map", "..%2Fwatch.html", "nothing.mjs"):
        assert (await vclient.get(f"/vendor/{name}")).status == 404


def test_a_tarball_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.tgz"
    other.write_bytes(b"not hls.js")
    assert web_assets.integrity(other) != web_assets.HLS_INTEGRITY


async def test_the_test_stream_is_served_as_live_hls(
    vclient: Client, stream: subprocess.Popen[bytes]
) -> None:
    resp = await vclient.get(STREAM)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert resp.headers["Cache-Control"] == "no-cache"
    playlist = await resp.text()
    assert "#EXT-X-ENDLIST" not in playlist  # live: it goes on
    segment = next(line for line in playlist.splitlines() if line.endswith(".ts"))
    resp = await vclient.get(f"/media/{ROOM}/{segment}")
    assert (resp.status, resp.headers["Content-Type"]) == (200, "video/mp2t")
    for path in (f"/media/{ROOM}/../x.ts", f"/media/{ROOM}/index.txt", "/media/other/index.m3u8"):
        assert (await vclient.get(path)).status == 404


async def test_a_bad_stream_address_is_refused_with_a_stable_code(vclient: Client) -> None:
    await show_with_stream(vclient, status="draft")
    for field, value in (
        ("stream_url", "javascript:alert(1)"),
        ("replay_url", "ftp://example.com/x.m3u8"),
        ("cover_url", "http://insecure.example/c.jpg"),
    ):
        resp = await vclient.patch(f"/api/shows/{ROOM}/setup", json={field: value}, headers=HOST)
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_field"
    resp = await vclient.patch(f"/api/shows/{ROOM}/setup", json={"stream": STREAM}, headers=HOST)
    assert (await resp.json())["error"]["code"] == "unknown_field"
    public = await (await vclient.get(f"/api/rooms/{ROOM}")).json()
    assert public["stream_url"] == ""


# ------------------------------------------------------------------ in Chromium


async def test_the_viewer_page_plays_the_live_test_stream_muted_with_a_tap_to_unmute(
    browser: Browser,
    vclient: Client,
    base_url: str,
    stream: subprocess.Popen[bytes],
    hls_installed: Path,
) -> None:
    await show_with_stream(vclient, stream_url=STREAM)
    page = await phone_page(browser, f"{base_url}/watch/{ROOM}")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    video = page.locator("#stage-video")
    await expect(video).to_have_attribute("data-player", "hls.js")
    await time_advances(page)
    assert await video.evaluate("v => v.muted && v.playsInline && v.autoplay")
    await expect(page.locator(".live-badge")).to_be_visible()
    await expect(page.locator("#unmute")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "video-phone.png")
    await page.locator("#unmute").click()
    assert await video.evaluate("v => v.muted") is False
    await expect(page.locator("#unmute")).to_be_hidden()

    desktop = await phone_page(browser, f"{base_url}/watch/{ROOM}", DESKTOP)
    await time_advances(desktop)
    await desktop.screenshot(path=SCREENSHOTS / "video-desktop.png")
    assert errors == []


async def test_a_stalled_stream_says_reconnecting(
    browser: Browser,
    vclient: Client,
    base_url: str,
    stream: subprocess.Popen[bytes],
    hls_installed: Path,
) -> None:
    await show_with_stream(vclient, stream_url=STREAM)
    page = await phone_page(browser, f"{base_url}/watch/{ROOM}")
    await time_advances(page)
    stream.terminate()  # the encoder goes away: the playlist stops growing
    stream.wait(10)
    await expect(page.locator("#video-note")).to_have_text("Reconnecting…", timeout=30_000)
    await expect(page.locator("#stage-video")).to_have_attribute("data-state", "reconnecting")
    await page.screenshot(path=SCREENSHOTS / "video-reconnecting-phone.png")


async def test_without_hls_js_the_page_plays_natively_or_says_it_cannot(
    browser: Browser, vclient: Client, base_url: str, stream: subprocess.Popen[bytes]
) -> None:
    """What `pip install .` alone gives (no vendor folder): the browser's own HLS where it
    has it, else one plain sentence instead of a black box."""
    await show_with_stream(vclient, stream_url=STREAM)
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    await context.route("**/vendor/**", lambda route: route.fulfill(status=404))
    page = await context.new_page()
    await page.goto(f"{base_url}/watch/{ROOM}")
    native = await page.evaluate(
        "() => document.createElement('video').canPlayType('application/vnd.apple.mpegurl')"
    )
    if native:
        await expect(page.locator("#stage-video")).to_have_attribute("data-player", "native")
        await time_advances(page)

    no_hls = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    await no_hls.route("**/vendor/**", lambda route: route.fulfill(status=404))
    await no_hls.add_init_script(
        "HTMLMediaElement.prototype.canPlayType = function () { return ''; };"
    )
    page = await no_hls.new_page()
    await page.goto(f"{base_url}/watch/{ROOM}")
    await expect(page.locator("#video-note")).to_have_text(
        "This browser cannot play the live video."
    )
    await page.screenshot(path=SCREENSHOTS / "video-unsupported-phone.png")


async def test_after_the_show_the_page_says_ended_and_plays_the_replay(
    browser: Browser,
    vclient: Client,
    base_url: str,
    stream: subprocess.Popen[bytes],
    hls_installed: Path,
) -> None:
    await show_with_stream(vclient, status="ended", stream_url=STREAM, replay_url=STREAM)
    page = await phone_page(browser, f"{base_url}/watch/{ROOM}")
    await expect(page.locator("#status")).to_have_text("ended")
    await expect(page.locator("#join")).to_be_hidden()
    await expect(page.locator(".live-badge")).to_be_hidden()
    await expect(page.locator("#video-note")).to_have_text("Replay", timeout=30_000)
    await time_advances(page)
    await page.screenshot(path=SCREENSHOTS / "video-replay-phone.png")


async def test_the_stream_set_in_the_console_reaches_a_viewer_already_watching(
    browser: Browser,
    vclient: Client,
    base_url: str,
    stream: subprocess.Popen[bytes],
    hls_installed: Path,
) -> None:
    await show_with_stream(vclient)
    page = await phone_page(browser, f"{base_url}/watch/{ROOM}")
    await expect(page.locator("#status")).to_have_text("live")
    await expect(page.locator("#stage-video")).to_be_hidden()

    console = await phone_page(browser, f"{base_url}/console", DESKTOP)
    await console.fill("#login-host", HOST_ID)
    await console.fill("#login-password", HOST_PASSWORD)
    await console.click("#login-form button[type=submit]")
    await expect(console.locator("#home")).to_be_visible()
    # The saved setup arrives only after the host has typed: what they typed stays.
    setup_arrives = asyncio.Event()

    async def hold_back(route: Route) -> None:
        if route.request.method == "GET":
            await setup_arrives.wait()
        await route.continue_()

    await console.route(f"**/api/shows/{ROOM}/setup", hold_back)
    await console.goto(f"{base_url}/console?show={ROOM}")
    field = console.locator("[data-setup=stream_url]")
    warning = console.locator("#show-setup label:has([data-setup=stream_url]) .warning")
    await field.fill("https://elsewhere.example/live.m3u8")
    setup_arrives.set()
    await expect(console.locator("#reminder-count")).to_contain_text("asked to be reminded")
    await expect(field).to_have_value("https://elsewhere.example/live.m3u8")
    await expect(warning).to_contain_text("add it to LIVESALE_MEDIA_ORIGINS")
    await console.unroute(f"**/api/shows/{ROOM}/setup")
    await field.fill("https://cdn.example.com/live.m3u8")
    await expect(warning).to_have_text("")
    await field.fill(STREAM)
    await console.click("#show-setup button[type=submit]")
    await expect(console.locator("#notice")).to_have_text("Stage and schedule saved.")
    await console.screenshot(path=SCREENSHOTS / "console-stream-desktop.png", full_page=True)

    await time_advances(page)  # the viewer's page picked the stream up from show_setup


def test_livesale_stream_writes_the_test_stream_and_stops_its_ffmpeg_with_it(
    tmp_path: Path,
) -> None:
    """Guards against a stream run in the background and killed leaving ffmpeg running."""
    command = [sys.executable, "-c", "from server.cli import main; main()", "stream"]
    stream = subprocess.Popen(
        [*command, "--room", "cli-1", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    playlist = tmp_path / "cli-1" / test_stream.PLAYLIST
    deadline = time.monotonic() + 30
    while not playlist.exists():
        assert stream.poll() is None, "livesale stream stopped"
        assert time.monotonic() < deadline, "no playlist"
        time.sleep(0.2)
    children = subprocess.run(
        ["pgrep", "-P", str(stream.pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(children) == 1  # its ffmpeg
    stream.terminate()
    assert stream.wait(15) == 0
    assert stream.stdout is not None
    with stream.stdout:
        assert "/media/cli-1/index.m3u8" in stream.stdout.read()
    deadline = time.monotonic() + 15
    while Path(f"/proc/{children[0]}").exists():
        assert time.monotonic() < deadline, "ffmpeg outlived livesale stream"
        time.sleep(0.1)
