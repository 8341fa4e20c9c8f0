"""What a handler takes and answers, declared once, on the handler, for the API description.

``@takes(Reserve)`` is the one place a route's request body type is written: the handler
receives a ``Reader[Reserve]`` and reads the body with it when its own checks (who is
calling, is the show live...) are done, so the order of checks stays the handler's.
``@answers(...)`` records who may call, what a success looks like and which errors the
handler raises itself. server/api/openapi.py turns both, with the app's routes, into the
OpenAPI description; the fuzzer (tests/test_api_fuzz.py) checks the real answers against it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

import msgspec
from aiohttp import web

from ..errors import ErrorCode
from .audit import audited
from .decoding import read_body

T = TypeVar("T", bound=msgspec.Struct)
R = TypeVar("R", bound=web.StreamResponse)
F = TypeVar("F", bound=Callable[..., Awaitable[web.StreamResponse]])

#: Where a handler's declaration lives on the function object (no registry to drift).
_ATTRIBUTE = "__livesale_api__"


class Auth(StrEnum):
    """Who may call an operation."""

    ANYONE = "anyone"
    #: ``Authorization: Bearer <viewer token>``.
    VIEWER = "viewer"
    #: A host API token, or the console's session cookie (+ ``X-CSRF-Token`` on a change).
    HOST = "host"
    #: A host who runs the room (or offer's room) named in the request.
    ROOM_HOST = "room_host"


@dataclass(frozen=True, slots=True)
class Content:
    """An answer that is not a JSON body: its media type, and a schema when it has one."""

    media_type: str
    schema: Mapping[str, Any] = field(default_factory=dict)


#: A success answer: a Struct describing a JSON body, another media type, or no body (None).
Answer = type[msgspec.Struct] | Content | None


@dataclass(frozen=True, slots=True)
class Declared:
    """Everything a handler declared about itself."""

    auth: Auth = Auth.ANYONE
    body: type[msgspec.Struct] | None = None
    ok: Mapping[int, Answer] = field(default_factory=dict)
    #: Error codes the handler itself (or what it calls) answers, by HTTP status.
    errors: Mapping[int, tuple[ErrorCode, ...]] = field(default_factory=dict)
    #: Query parameters: name -> (JSON Schema, description).
    query: Mapping[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    #: Touches Redis, so it may answer 503 while Redis is unreachable.
    uses_redis: bool = True
    #: Not for the fuzzer: a WebSocket or an event stream that stays open.
    streaming: bool = False


def declared(handler: Callable[..., Any]) -> Declared | None:
    """What ``handler`` declared with ``@takes`` and ``@answers``, if anything."""
    found = getattr(handler, _ATTRIBUTE, None)
    return found if isinstance(found, Declared) else None


def _record(handler: Callable[..., Any], **changes: Any) -> None:
    setattr(handler, _ATTRIBUTE, replace(declared(handler) or Declared(), **changes))


class Reader(Generic[T]):
    """A request's body as a ``T``, read when the handler asks (after its own checks)."""

    __slots__ = ("_request", "_type")

    def __init__(self, request: web.Request, type_: type[T]) -> None:
        self._request = request
        self._type = type_

    def __call__(self) -> Awaitable[T]:
        """The body, or ``Invalid`` saying what is wrong with it."""
        # read_body's own coroutine, not one more around it: this is on the buy path.
        return read_body(self._request, self._type)


def takes(
    type_: type[T],
) -> Callable[
    [Callable[[web.Request, Reader[T]], Awaitable[R]]], Callable[[web.Request], Awaitable[R]]
]:
    """Declare a handler's request body: the handler gets a ``Reader`` of that type."""

    def decorate(
        handler: Callable[[web.Request, Reader[T]], Awaitable[R]],
    ) -> Callable[[web.Request], Awaitable[R]]:
        # Not a coroutine of its own: it hands back the handler's, one frame less to
        # suspend and resume on the buy path.
        @functools.wraps(handler)
        def handle(request: web.Request) -> Awaitable[R]:
            return handler(request, Reader(request, type_))

        _record(handle, body=type_)
        return handle

    return decorate


def answers(
    auth: Auth = Auth.ANYONE,
    ok: Mapping[int, Answer] | None = None,
    errors: Mapping[int, tuple[ErrorCode, ...]] | None = None,
    *,
    query: Mapping[str, tuple[Mapping[str, Any], str]] | None = None,
    uses_redis: bool = True,
    streaming: bool = False,
) -> Callable[[F], F]:
    """Declare who may call a handler, its success answers and the errors it raises."""

    def decorate(handler: F) -> F:
        if auth in (Auth.HOST, Auth.ROOM_HOST):
            handler = audited(handler)
        _record(
            handler,
            auth=auth,
            ok=dict(ok or {200: None}),
            errors=dict(errors or {}),
            query=dict(query or {}),
            uses_redis=uses_redis,
            streaming=streaming,
        )
        return handler

    return decorate


class Shape(msgspec.Struct, forbid_unknown_fields=True):
    """Base of the Structs that describe an answer's JSON body (never decoded on the server:
    tests check real answers against them, so a field added to an answer must be added here)."""
