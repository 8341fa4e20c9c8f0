"""The OpenAPI 3.1 description of the HTTP API, generated from the app itself.

Nothing here is written twice: the paths and methods are the app's routes, each operation's
summary is its handler's docstring, its request body is the msgspec Struct of its
``@takes`` and its answers are what its ``@answers`` declared (server/api/described.py).
Body schemas are msgspec's JSON Schema (2020-12, the dialect of OpenAPI 3.1); the error
codes are server/errors.py's ``ErrorCode``. Errors every operation of a kind can answer
(a bad body, missing credentials, a stock service that is down) are added here by kind.
"""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from aiohttp import web

from stockkeeper.ids import GROUP_ID, HOLD_ID, OFFER_ID

from ..errors import ErrorCode
from ..hosts.accounts import HOST_ID
from ..hosts.sessions import COOKIE_NAME
from ..room.publisher import OFFSET
from .auth import CSRF_HEADER, SAFE_METHODS
from .bodies import SLUG_HINT, SLUG_PATTERN
from .described import Auth, Content, Declared, declared
from .json_schema import has_required_fields, struct_schemas
from .routing import UNMATCHED

TITLE = "livesale HTTP API"
#: Where the server answers with this description (docs/api.md).
ADDRESS = "/api/openapi.json"
_REF = "#/components/schemas/{name}"
_TEMPLATE_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")

#: Every path parameter of the routes, by name: (schema, description).
PATH_PARAMETERS: Mapping[str, tuple[Mapping[str, Any], str]] = {
    "offer_id": ({"type": "string", "pattern": OFFER_ID.pattern}, "An offer's id."),
    "hold_id": ({"type": "string", "pattern": HOLD_ID.pattern}, "A hold's id."),
    "room_id": (
        {"type": "string", "pattern": f"^{SLUG_PATTERN}$"},
        f"A room's name: {SLUG_HINT}.",
    ),
    "offset": ({"type": "string", "pattern": OFFSET.pattern}, "A chat message's offset."),
    "token_id": ({"type": "string"}, "An API token's id, as the token list shows it."),
    "filename": ({"type": "string"}, "A file of the pages' scripts and styles."),
    # Coupons and red packets (coupons.py).
    "drop_id": ({"type": "string", "pattern": "^d[1-9][0-9]{0,15}$"}, "A coupon drop's id."),
    "rain_id": ({"type": "string", "pattern": "^r[1-9][0-9]{0,15}$"}, "A red packet rain's id."),
    # Giveaways (giveaways.py).
    "giveaway_id": ({"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}, "A giveaway's id."),
    # Group buying (groups.py).
    "group_id": ({"type": "string", "pattern": GROUP_ID.pattern}, "A buying group's id."),
    # Polls (polls.py).
    "poll_id": ({"type": "string", "pattern": "^[0-9]{1,12}$"}, "A poll's id."),
    # The show's team (team.py).
    "host_id": ({"type": "string", "pattern": HOST_ID.pattern}, "A host account's name."),
}

#: What a body that cannot be read is answered (400).
BODY_CODES = (
    ErrorCode.INVALID_JSON,
    ErrorCode.INVALID_BODY,
    ErrorCode.UNKNOWN_FIELD,
    ErrorCode.MISSING_FIELD,
    ErrorCode.INVALID_FIELD,
    ErrorCode.OUT_OF_RANGE,
)
_VIEWER_CODES = (ErrorCode.TOKEN_REQUIRED, ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED)
_HOST_CODES = (
    ErrorCode.HOST_AUTH_REQUIRED,
    ErrorCode.INVALID_HOST_TOKEN,
    ErrorCode.SESSION_EXPIRED,
)

SECURITY_SCHEMES: Mapping[str, Mapping[str, str]] = {
    "viewerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A viewer token signed by the shop's identity service (docs/tokens.md).",
    },
    "hostApiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A host API token for scripts (POST /api/host/tokens).",
    },
    "hostSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE_NAME,
        "description": "The host console's session cookie (POST /api/host/login).",
    },
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": "The session's CSRF token, on every change made with the cookie.",
    },
}

#: Details an error may carry beside its code and message.
_ERROR_DETAILS: Mapping[str, Mapping[str, Any]] = {
    "field": {"type": "string", "description": "The body field that is wrong."},
    "min": {"type": "integer"},
    "max": {"type": "integer"},
    "product": {"type": "integer", "description": "The list item (from 0) that is wrong."},
    "retriable": {"type": "boolean", "description": "The same request may succeed later."},
    "retry_after_s": {"type": "integer"},
    "available": {"type": "integer"},
    "limit": {"type": "integer"},
    "units_already": {"type": "integer"},
    "opens_at_ms": {"type": "integer"},
    "closes_at_ms": {"type": "integer"},
    "reason": {"type": "string"},
    "order_id": {"type": ["string", "null"]},
    "refund_due": {"type": "boolean"},
    "state": {"type": "string"},
}


def describe_app(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route of ``app``."""
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    structs: set[type[msgspec.Struct]] = set()
    tags: dict[str, str] = {}
    for method, path, handler, found in _routes(app):
        operation = _operation(method, path, handler, found)
        paths[path][method.lower()] = operation
        tags.setdefault(operation["tags"][0], _module_doc(handler))
        if method != "HEAD":
            structs.update(_structs(found))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": "1",
            "description": (
                "Live-stream selling and flash sales. Every error answers "
                '`{"error": {"code", "message", ...}}` with a stable code (docs/api.md). '
                "Bodies are JSON objects; whole numbers are written without a fraction "
                "(`5`, not `5.0`), and a field sent as null counts as not sent. "
                "The room's own protocol, over the WebSocket and SSE addresses here, is "
                "docs/rooms.md."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": text} for name, text in sorted(tags.items())],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**struct_schemas(structs, _REF), **_error_schemas()},
            "securitySchemes": dict(SECURITY_SCHEMES),
        },
    }


def _routes(app: web.Application) -> Iterator[tuple[str, str, Any, Declared]]:
    for route in app.router.routes():
        if route.resource is not None and route.resource.canonical == UNMATCHED:
            continue  # not an operation: the 404 / 405 of every other address
        found = declared(route.handler)
        if found is None or route.resource is None:
            raise LookupError(f"{route.method} {route}: the handler declares nothing (@answers)")
        yield route.method, route.resource.canonical, route.handler, found


def _module_doc(handler: Any) -> str:
    return (inspect.getdoc(inspect.getmodule(handler)) or "").split("\n\n")[0]


def _operation(method: str, path: str, handler: Any, found: Declared) -> dict[str, Any]:
    summary, _, more = (inspect.getdoc(handler) or "").partition("\n\n")
    name = handler.__name__
    module = handler.__module__.rsplit(".", 1)[-1]
    operation: dict[str, Any] = {
        "operationId": name if method != "HEAD" else f"{name}_head",
        "summary": " ".join(summary.split()),
        "tags": [module],
    }
    if more:
        operation["description"] = more
    if method == "HEAD":
        operation["description"] = f"The headers of `GET {path}`, without its body."
    parameters = [_path_parameter(name) for name in _TEMPLATE_PARAMETER.findall(path)]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": dict(schema), "description": d}
        for name, (schema, d) in found.query.items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if found.body is not None and method != "HEAD":
        operation["requestBody"] = {
            # An empty body reads as {}: a body is needed only when a field is required.
            "required": has_required_fields(found.body),
            "content": {"application/json": {"schema": _ref(found.body)}},
        }
    security = _security(found.auth, method)
    if security:
        operation["security"] = security
    operation["responses"] = _responses(method, found)
    if found.streaming:
        operation["x-streaming"] = True
    return operation


def _path_parameter(name: str) -> dict[str, Any]:
    schema, description = PATH_PARAMETERS[name]
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": dict(schema),
        "description": description,
    }


def _security(auth: Auth, method: str) -> list[dict[str, list[str]]]:
    if auth is Auth.VIEWER:
        return [{"viewerToken": []}]
    if auth in (Auth.HOST, Auth.ROOM_HOST):
        session: dict[str, list[str]] = {"hostSession": []}
        if method not in SAFE_METHODS:
            session["csrfToken"] = []
        return [{"hostApiToken": []}, session]
    return []


def error_codes(method: str, found: Declared) -> dict[int, tuple[ErrorCode, ...]]:
    """The error codes an operation may answer, by HTTP status."""
    codes: dict[int, set[ErrorCode]] = defaultdict(set)
    if found.body is not None:
        codes[400].update(BODY_CODES)
        codes[413].add(ErrorCode.BODY_TOO_LARGE)
    if found.auth is Auth.VIEWER:
        codes[401].update(_VIEWER_CODES)
    if found.auth in (Auth.HOST, Auth.ROOM_HOST):
        codes[401].update(_HOST_CODES)
        if method not in SAFE_METHODS:
            codes[403].add(ErrorCode.CSRF_FAILED)
    if found.auth is Auth.ROOM_HOST:
        # Off the show's team, or on it in a role without the right (docs/hosts.md).
        codes[403].update((ErrorCode.NOT_YOUR_ROOM, ErrorCode.ROLE_FORBIDS))
    for status, listed in found.errors.items():
        codes[status].update(listed)
    if found.uses_redis:
        codes[503].add(ErrorCode.STOCK_UNAVAILABLE)
    codes[500].update((ErrorCode.INTERNAL_ERROR, ErrorCode.STOCK_ERROR))
    order = list(ErrorCode)
    return {
        status: tuple(sorted(listed, key=order.index)) for status, listed in sorted(codes.items())
    }


def _responses(method: str, found: Declared) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in sorted(found.ok.items()):
        response: dict[str, Any] = {"description": _ok_description(status, answer)}
        if answer is not None and method != "HEAD":
            if isinstance(answer, Content):
                schema = dict(answer.schema) or {"type": "string"}
                response["content"] = {answer.media_type: {"schema": schema}}
            else:
                response["content"] = {"application/json": {"schema": _ref(answer)}}
        responses[str(status)] = response
    for status, codes in error_codes(method, found).items():
        response = {"description": "Error: " + ", ".join(f"`{code}`" for code in codes)}
        if method != "HEAD":
            response["content"] = {"application/json": {"schema": _error_schema(codes)}}
        responses[str(status)] = response
    return responses


def _ok_description(status: int, answer: Any) -> str:
    if status == 101:
        return "Switching Protocols: the WebSocket is open."
    if isinstance(answer, type):
        return inspect.getdoc(answer) or answer.__name__
    return "OK"


def _ref(struct: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": _REF.format(name=struct.__name__)}


def _structs(found: Declared) -> Iterator[type[msgspec.Struct]]:
    if found.body is not None:
        yield found.body
    for answer in found.ok.values():
        if isinstance(answer, type):
            yield answer


def _error_schemas() -> dict[str, Any]:
    return {
        "ErrorCode": {
            "type": "string",
            "enum": [str(code) for code in ErrorCode],
            "description": "Every stable error code (docs/api.md explains each).",
        },
        "Error": {
            "type": "object",
            "description": "Every error answer: a stable code, a message for people, details.",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"$ref": _REF.format(name="ErrorCode")},
                        "message": {"type": "string"},
                        **{key: dict(value) for key, value in _ERROR_DETAILS.items()},
                    },
                    "required": ["code", "message"],
                }
            },
            "required": ["error"],
            "additionalProperties": False,
        },
    }


def _error_schema(codes: tuple[ErrorCode, ...]) -> dict[str, Any]:
    """The error body with the codes this answer may carry."""
    return {
        "allOf": [
            {"$ref": _REF.format(name="Error")},
            {"properties": {"error": {"properties": {"code": {"enum": [str(c) for c in codes]}}}}},
        ]
    }
