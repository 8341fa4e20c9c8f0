"""Host sign-in: log in and out of the console, who am I, and API tokens for automation."""

from __future__ import annotations

from aiohttp import web

from ..appkeys import HOST_ACCOUNTS, LOGIN_GUARD, SESSIONS, SETTINGS
from ..errors import ErrorCode, NotFound, RateLimited, Unauthorized
from ..hosts.accounts import token_id
from ..hosts.sessions import COOKIE_NAME
from .auth import require_host
from .bodies import Login, NewApiToken
from .described import Auth, Reader, Shape, answers, takes
from .responses import json_response
from .routing import Routes


class SignedIn(Shape):
    """The signed-in host, and the CSRF token their console sends with every change
    (null when the caller used an API token)."""

    host_id: str
    display_name: str
    csrf_token: str | None


class NewToken(Shape):
    """A new API token: shown only in this answer."""

    token: str
    token_id: str
    label: str


class TokenInfo(Shape):
    """One API token, without the token."""

    token_id: str
    label: str
    created_at_ms: int


class TokenList(Shape):
    """The host's API tokens."""

    tokens: list[TokenInfo]


class LoggedOut(Shape):
    """The session has ended."""

    logged_out: bool


class Revoked(Shape):
    """The id of the API token that stopped working."""

    revoked: str


def _address(request: web.Request) -> str:
    # Behind a load balancer set it to pass the client address; see docs/operations.md.
    return request.remote or "unknown"


@answers(
    Auth.ANYONE,
    {200: SignedIn},
    {401: (ErrorCode.INVALID_LOGIN,), 429: (ErrorCode.TOO_MANY_ATTEMPTS,)},
)
@takes(Login)
async def login(request: web.Request, read: Reader[Login]) -> web.Response:
    """Sign a host in to the console: a session cookie and its CSRF token."""
    body = await read()
    host_id, address = body.host_id.strip().lower(), _address(request)
    guard = request.app[LOGIN_GUARD]
    # Counted before the password is checked: simultaneous guesses cannot all slip in.
    wait = await guard.attempt(host_id, address)
    if wait:
        raise RateLimited(
            ErrorCode.TOO_MANY_ATTEMPTS,
            f"Too many failed logins. Try again in {max(1, wait // 60)} minute(s).",
            retry_after_s=wait,
        )
    accounts = request.app[HOST_ACCOUNTS]
    found = await accounts.check(host_id, body.password)
    if found is None:
        raise Unauthorized(ErrorCode.INVALID_LOGIN, "That host name and password do not match.")
    host, checked_hash = found
    await guard.succeeded(host_id, address)
    settings = request.app[SETTINGS]
    cookie, session = await request.app[SESSIONS].create(host.host_id)
    # A new password set while this one was being checked ended the sessions it could
    # list, not this one, listed after: looked at once the session is listed, so either
    # the change sees the session or this sees the change.
    if not await accounts.still_valid(host.host_id, checked_hash):
        await request.app[SESSIONS].end(cookie)
        raise Unauthorized(
            ErrorCode.INVALID_LOGIN, "The password was just changed; log in with the new one."
        )
    response = json_response(
        {
            "host_id": host.host_id,
            "display_name": host.display_name,
            "csrf_token": session.csrf_token,
        }
    )
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=settings.session_ttl_s,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=settings.secure_cookies,
    )
    return response


@answers(Auth.HOST, {200: LoggedOut})
async def logout(request: web.Request) -> web.Response:
    """End the host's session on the server."""
    await require_host(request)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        await request.app[SESSIONS].end(cookie)
    response = json_response({"logged_out": True})
    response.del_cookie(COOKIE_NAME, path="/")
    return response


@answers(Auth.HOST, {200: SignedIn})
async def me(request: web.Request) -> web.Response:
    """Who the signed-in host is."""
    caller = await require_host(request)
    host = await request.app[HOST_ACCOUNTS].get(caller.host_id)
    if host is None:
        raise Unauthorized(ErrorCode.SESSION_EXPIRED, "Your account no longer exists.")
    return json_response(
        {
            "host_id": host.host_id,
            "display_name": host.display_name,
            "csrf_token": caller.session.csrf_token if caller.session else None,
        }
    )


@answers(Auth.HOST, {201: NewToken})
@takes(NewApiToken)
async def create_api_token(request: web.Request, read: Reader[NewApiToken]) -> web.Response:
    """A new API token for the signed-in host's scripts; it is shown only in this answer."""
    caller = await require_host(request)
    body = await read()
    token = await request.app[HOST_ACCOUNTS].mint_api_token(caller.host_id, body.label)
    return json_response(
        {"token": token, "token_id": token_id(token), "label": body.label}, status=201
    )


@answers(Auth.HOST, {200: TokenList})
async def list_api_tokens(request: web.Request) -> web.Response:
    """The host's API tokens (never the tokens themselves)."""
    caller = await require_host(request)
    tokens = await request.app[HOST_ACCOUNTS].api_tokens(caller.host_id)
    return json_response(
        {
            "tokens": [
                {"token_id": t.token_id, "label": t.label, "created_at_ms": t.created_at}
                for t in tokens
            ]
        }
    )


@answers(Auth.HOST, {200: Revoked}, {404: (ErrorCode.UNKNOWN_TOKEN,)})
async def revoke_api_token(request: web.Request) -> web.Response:
    """Revoke one of the caller's API tokens by its id; it stops working at once."""
    caller = await require_host(request)
    token_id = request.match_info["token_id"]
    if not await request.app[HOST_ACCOUNTS].revoke_api_token(caller.host_id, token_id):
        raise NotFound(ErrorCode.UNKNOWN_TOKEN, "You have no API token with this id.")
    return json_response({"revoked": token_id})


def add_routes(app: web.Application) -> None:
    """The host sign-in routes."""
    routes = Routes(app)
    routes.post("/api/host/login", login)
    routes.post("/api/host/logout", logout)
    routes.get("/api/host/me", me)
    routes.post("/api/host/tokens", create_api_token)
    routes.get("/api/host/tokens", list_api_tokens)
    routes.delete("/api/host/tokens/{token_id}", revoke_api_token)
