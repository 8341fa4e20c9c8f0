"""The API's OpenAPI 3.1 description: generated from the app, complete, and true to the
answers the server really gives."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import msgspec
from aiohttp import web
from aiohttp.test_utils import TestClient
from schemathesis.specs.openapi.definitions import OPENAPI_31

from server.api import bodies
from server.api.bodies import Empty
from server.api.described import Auth, Declared
from server.api.json_schema import ecma_pattern
from server.api.openapi import ADDRESS, describe_app, error_codes
from server.api.routing import UNMATCHED
from server.app import create_app
from server.errors import ErrorCode
from server.settings import Settings

from .helpers import HOST, VIEWER_SECRET, viewer

Client = TestClient[web.Request, web.Application]
METHODS = {"get", "head", "post", "put", "patch", "delete"}


def described_app() -> tuple[web.Application, dict[str, Any]]:
    """An app from the factory (not started: its routes are all there) and its description."""
    app = create_app(Settings(viewer_token_secret=VIEWER_SECRET))
    return app, describe_app(app)


def operations(description: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in a description."""
    return {
        (method.upper(), path)
        for path, item in description["paths"].items()
        for method in item
        if method in METHODS
    }


def router_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route of the app, as OpenAPI spells the path."""
    found = set()
    for route in app.router.routes():
        assert route.resource is not None
        if route.resource.canonical != UNMATCHED:  # the 404 / 405 of every other address
            found.add((route.method, route.resource.canonical))
    return found


def validate(description: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """``instance`` against ``schema``, whose refs point into the description's components."""
    document = {"components": description["components"], **schema}
    jsonschema.Draft202012Validator(document).validate(instance)


def answer_schema(
    description: dict[str, Any], method: str, path: str, status: int
) -> dict[str, Any]:
    """The JSON schema the description gives an answer of one operation."""
    responses = description["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}"
    schema: dict[str, Any] = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


# ------------------------------------------------------------------ completeness


def test_every_route_of_the_app_is_an_operation_and_every_operation_a_route() -> None:
    app, description = described_app()
    routes = router_routes(app)
    assert routes == operations(description)
    # The 8 moderation endpoints, which nothing documented before the description.
    moderation = {path for method, path in routes if "/api/rooms/{room_id}/" in path}
    assert len(moderation) >= 8


def test_the_description_is_valid_openapi_3_1_with_unique_operation_ids() -> None:
    _, description = described_app()
    assert description["openapi"] == "3.1.0"
    # The OpenAPI Initiative's own schema of 3.1 documents, as schemathesis ships it.
    jsonschema.Draft202012Validator(OPENAPI_31).validate(description)
    ids = [
        operation["operationId"]
        for item in description["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(ids) == len(set(ids))
    for schema in description["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_each_operation_says_what_it_does_from_its_docstring() -> None:
    _, description = described_app()
    reserve = description["paths"]["/api/offers/{offer_id}/reservations"]["post"]
    assert reserve["summary"] == "Hold units of an offer for the signed-in viewer (the buy button)."
    for item in description["paths"].values():
        for method, operation in item.items():
            if method in METHODS:
                assert operation["summary"], operation["operationId"]


def test_request_bodies_are_the_typed_bodies_with_their_constraints() -> None:
    _, description = described_app()
    body = description["paths"]["/api/offers/{offer_id}/reservations"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Reserve"}
    reserve = description["components"]["schemas"]["Reserve"]
    assert reserve["additionalProperties"] is False
    assert reserve["required"] == ["idempotency_key"]
    assert reserve["properties"]["quantity"]["maximum"] == 100
    assert "fresh one for every press" in reserve["properties"]["idempotency_key"]["description"]
    blocked = description["paths"]["/api/rooms/{room_id}/blocked-words"]["put"]["requestBody"]
    assert blocked["content"]["application/json"]["schema"]["$ref"].endswith("/BlockedWords")


def python_patterns() -> set[str]:
    """Every pattern of the request bodies, as the server (Python's re) reads them."""
    structs = [
        value
        for value in vars(bodies).values()
        if isinstance(value, type) and issubclass(value, msgspec.Struct)
    ]
    _, components = msgspec.json.schema_components(structs)
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.update(v for k, v in node.items() if k == "pattern" and isinstance(v, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(components)
    return found


def test_patterns_mean_in_json_schema_what_they_mean_to_the_server() -> None:
    """Guards against Python-only regex syntax in the description (``\\Z``, ``(?s)``) and
    against sets that differ between the dialects: a U+0085 in an image address matched
    ECMA-262's ``\\s`` class of the description but not Python's, so the fuzzer's valid
    request was refused."""
    _, description = described_app()
    text = str(description)
    assert "\\\\Z" not in text
    assert "(?s)" not in text
    chars = [chr(c) for c in range(0x3001) if not 0xD800 <= c < 0xE000] + ["\ufeff"]
    probes = chars + [f"ab{char}cd" for char in chars]
    for pattern in python_patterns():
        # Written with sets both dialects read alike, so Python can check the translation.
        translated = ecma_pattern(pattern)
        assert "\\s" not in translated.replace("[\\s\\S]", "")
        server, described = re.compile(pattern), re.compile(translated)
        wrong = [p for p in probes if bool(server.fullmatch(p)) != bool(described.fullmatch(p))]
        assert wrong == [], pattern
    # "$" ends the input in ECMA-262 (Python's "\\Z"); only Python lets it skip a last "\\n".
    assert ecma_pattern(r"^(?:[a-z]{1,3})\Z") == r"^(?:[a-z]{1,3})$"


def test_every_error_code_is_in_the_description() -> None:
    _, description = described_app()
    enum = description["components"]["schemas"]["ErrorCode"]["enum"]
    assert enum == [str(code) for code in ErrorCode]


def test_errors_follow_from_what_an_operation_takes_and_who_may_call_it() -> None:
    host_change = error_codes("POST", Declared(auth=Auth.ROOM_HOST, body=Empty))
    assert ErrorCode.MISSING_FIELD in host_change[400]
    assert host_change[401] == (
        ErrorCode.HOST_AUTH_REQUIRED,
        ErrorCode.INVALID_HOST_TOKEN,
        ErrorCode.SESSION_EXPIRED,
    )
    assert set(host_change[403]) == {
        ErrorCode.CSRF_FAILED,
        ErrorCode.NOT_YOUR_ROOM,
        ErrorCode.ROLE_FORBIDS,
    }
    assert 413 in host_change
    assert 503 in host_change
    host_read = error_codes("GET", Declared(auth=Auth.HOST))
    assert 403 not in host_read
    assert 400 not in host_read


def test_security_schemes_are_the_viewer_token_and_the_two_ways_hosts_sign_in() -> None:
    _, description = described_app()
    schemes = description["components"]["securitySchemes"]
    assert schemes["hostSession"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "livesale_session",
        "description": schemes["hostSession"]["description"],
    }
    paths = description["paths"]
    assert paths["/api/holds/{hold_id}/confirm"]["post"]["security"] == [{"viewerToken": []}]
    assert paths["/api/offers"]["post"]["security"] == [
        {"hostApiToken": []},
        {"hostSession": [], "csrfToken": []},
    ]
    assert paths["/api/shows"]["get"]["security"] == [{"hostApiToken": []}, {"hostSession": []}]
    assert "security" not in paths["/api/offers/{offer_id}"]["get"]


def test_room_streams_are_described_as_get_operations() -> None:
    _, description = described_app()
    socket = description["paths"]["/rooms/{room_id}/live"]["get"]
    assert "101" in socket["responses"]
    assert socket["x-streaming"] is True
    events = description["paths"]["/rooms/{room_id}/events"]["get"]
    assert "text/event-stream" in events["responses"]["200"]["content"]


# ----------------------------------------------------------------- served, and true


async def test_the_server_publishes_its_description(client: Client) -> None:
    resp = await client.get(ADDRESS)
    assert resp.status == 200
    assert resp.content_type == "application/json"
    served = await resp.json()
    assert served == describe_app(client.app)
    assert operations(served) == router_routes(client.app)


async def test_real_answers_of_a_show_match_the_description(client: Client) -> None:
    """Every answer of a show's life, from creation to the report, against the schema the
    description gives it: a field added to an answer and not to its shape fails here."""
    description = await (await client.get(ADDRESS)).json()
    seen = 0

    async def call(method: str, path: str, template: str, **kwargs: Any) -> Any:
        nonlocal seen
        resp = await client.request(method, path, **kwargs)
        body = await resp.json()
        validate(description, answer_schema(description, method, template, resp.status), body)
        seen += 1
        return body

    product = {"sku": "MUG", "title": "Mug", "unit_price": 900, "currency": "EUR", "stock": 3}
    product |= {"countdown_seconds": 0}
    show = {"room_id": "room-9", "title": "Mugs", "products": [product]}
    created = await call("POST", "/api/shows", "/api/shows", json=show, headers=HOST)
    offer_id = created["offers"][0]["id"]
    room = "/api/shows/room-9"
    await call("POST", room + "/live", "/api/shows/{room_id}/live", headers=HOST)
    launch = "/api/shows/{room_id}/offers/{offer_id}/launch"
    await call("POST", f"{room}/offers/{offer_id}/launch", launch, headers=HOST)
    await call(
        "POST", f"/api/offers/{offer_id}/pause", "/api/offers/{offer_id}/pause", headers=HOST
    )
    resume = "/api/offers/{offer_id}/resume"
    await call("POST", f"/api/offers/{offer_id}/resume", resume, headers=HOST)
    reservations = "/api/offers/{offer_id}/reservations"
    press = {"idempotency_key": "press-0001", "quantity": 1}
    buyer = viewer("buyer-1")
    reserved = await call(
        "POST", f"/api/offers/{offer_id}/reservations", reservations, json=press, headers=buyer
    )
    hold = reserved["hold"]["hold_id"]
    await call("GET", f"/api/holds/{hold}", "/api/holds/{hold_id}", headers=buyer)
    confirm = {"payment_ref": "pay-1"}
    await call(
        "POST",
        f"/api/holds/{hold}/confirm",
        "/api/holds/{hold_id}/confirm",
        json=confirm,
        headers=buyer,
    )
    await call(  # a second payment of the same hold
        "POST",
        f"/api/holds/{hold}/confirm",
        "/api/holds/{hold_id}/confirm",
        json={"payment_ref": "pay-2"},
        headers=buyer,
    )
    again = await call(
        "POST", f"/api/offers/{offer_id}/reservations", reservations, json=press, headers=buyer
    )
    assert again["replayed"] is True
    other = viewer("buyer-2")
    second = await call(
        "POST",
        f"/api/offers/{offer_id}/reservations",
        reservations,
        json={"idempotency_key": "press-0002"},
        headers=other,
    )
    cancel = "/api/holds/{hold_id}/cancel"
    await call("POST", f"/api/holds/{second['hold']['hold_id']}/cancel", cancel, headers=other)
    stock = {"quantity": 2}
    await call(
        "POST",
        f"/api/offers/{offer_id}/restock",
        "/api/offers/{offer_id}/restock",
        json=stock,
        headers=HOST,
    )
    await call(
        "POST",
        f"/api/offers/{offer_id}/pull",
        "/api/offers/{offer_id}/pull",
        json={"quantity": 99},
        headers=HOST,
    )
    await call("GET", room, "/api/shows/{room_id}", headers=HOST)
    await call("GET", "/api/shows", "/api/shows", headers=HOST)
    await call("GET", "/api/rooms/room-9", "/api/rooms/{room_id}")
    await call("GET", "/api/rooms/room-9/offers", "/api/rooms/{room_id}/offers")
    await call("GET", f"/api/offers/{offer_id}", "/api/offers/{offer_id}")
    await call("GET", room + "/report.json", "/api/shows/{room_id}/report.json", headers=HOST)
    await call("POST", room + "/end", "/api/shows/{room_id}/end", headers=HOST)
    await call("GET", room + "/report.json", "/api/shows/{room_id}/report.json", headers=HOST)
    await call(
        "POST", room + "/products", "/api/shows/{room_id}/products", json=product, headers=HOST
    )
    assert seen == 23


async def test_real_answers_of_hosts_and_moderation_match_the_description(client: Client) -> None:
    description = await (await client.get(ADDRESS)).json()

    async def call(method: str, path: str, template: str, **kwargs: Any) -> Any:
        resp = await client.request(method, path, **kwargs)
        body = await resp.json()
        validate(description, answer_schema(description, method, template, resp.status), body)
        return body

    rooms = "/api/rooms/room-5"
    for path, body in [
        ("/announcements", {"text": "Welcome", "pinned": True}),
        ("/pinned-message/clear", {}),
        ("/mutes", {"user_id": "u1"}),
        ("/bans", {"user_id": "u2"}),
        ("/slow-mode", {"seconds": 5}),
        ("/pinned-offer", {"offer_id": "999"}),
        ("/messages/bad/delete", {}),
        ("/messages/1700-0/delete", {}),
    ]:
        template = "/api/rooms/{room_id}" + path.replace("1700-0", "{offset}").replace(
            "bad", "{offset}"
        )
        await call("POST", rooms + path, template, json=body, headers=HOST)
    words = "/api/rooms/{room_id}/blocked-words"
    await call("PUT", rooms + "/blocked-words", words, json={"words": [" Spam "]}, headers=HOST)
    await call("PUT", rooms + "/blocked-words", words, json={"words": 3}, headers=HOST)
    await call("GET", "/api/host/me", "/api/host/me", headers=HOST)
    made = await call(
        "POST", "/api/host/tokens", "/api/host/tokens", json={"label": "ci"}, headers=HOST
    )
    await call("GET", "/api/host/tokens", "/api/host/tokens", headers=HOST)
    revoke = "/api/host/tokens/{token_id}"
    await call("DELETE", f"/api/host/tokens/{made['token_id']}", revoke, headers=HOST)
    await call("DELETE", "/api/host/tokens/nope", revoke, headers=HOST)
    await call("GET", "/api/host/me", "/api/host/me")
    login = {"host_id": "test-host", "password": "wrong password"}
    await call("POST", "/api/host/login", "/api/host/login", json=login)
    await call("POST", "/api/demo/viewer-token", "/api/demo/viewer-token", json={})
    await call("GET", "/readyz", "/readyz")
