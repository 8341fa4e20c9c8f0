"""A property-based fuzzer reads the API's OpenAPI description and calls every operation of
the real app on real Redis: no answer is a 5xx, and every answer is one the description
gives (a documented status, its media type, a body that matches its schema).

schemathesis generates each request from the description, valid ones and ones that break
it, signed in as a viewer or a host as the operation declares, with a show, offers, a hold
and a chat message made first so that half the requests name things that exist. Bounded
and repeatable: a few examples per operation, derandomized (the same requests every run).
The WebSocket and event stream stay open by design, so they are described but not fuzzed.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from server.api.openapi import BODY_CODES, describe_app
from server.app import create_app
from server.errors import ErrorCode
from server.settings import Settings

from .helpers import HOST, HOST_ID, VIEWER_SECRET, viewer

Client = TestClient[web.Request, web.Application]
Case = schemathesis.Case[Any]

#: Examples per operation and kind (valid, valid naming things that exist, invalid).
EXAMPLES = 12

#: Fields with a rule across fields: buckets at most the stock; a coupon drop's one of
#: amount_off or percent_off and validity at least its claim window, a rain's packets at
#: most its pool (docs/coupons.md); a compare-at price at least the unit price (groups.md);
#: a stock warning line in units or as a share, not both (operations.md).
CROSS_FIELD_RULES = (
    "buckets",
    "compare_at_price",
    "amount_off",
    "valid_seconds",
    "packets",
    "share",
)


@schemathesis.check
def valid_requests_are_read(
    ctx: CheckContext, response: schemathesis.Response, case: Case
) -> bool | None:
    """A request the description calls valid is never refused as unreadable (400 with a
    body code): the description's schemas and the server's decoder agree."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    error = orjson.loads(response.content)["error"]
    # The rules across fields a schema cannot say (documented on the fields).
    if error["code"] == ErrorCode.INVALID_FIELD and error.get("field") in CROSS_FIELD_RULES:
        return None
    if error["code"] in BODY_CODES:
        raise AssertionError(f"A valid request was refused: {error}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    valid_requests_are_read,
]
VALID_CHECKS = [check for check in CHECKS if check is not negative_data_rejection]
BUYER = "fuzz-buyer"
ROOM = "fuzz-room"


@functools.cache
def description() -> dict[str, Any]:
    """The description of an app from the factory (its routes need no running app)."""
    return describe_app(create_app(Settings(viewer_token_secret=VIEWER_SECRET)))


def fuzzed() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation but the streams."""
    return [
        (method.upper(), path)
        for path, item in description()["paths"].items()
        for method, operation in item.items()
        if not operation.get("x-streaming")
    ]


async def existing(client: Client) -> dict[str, list[str]]:
    """A live show with a launched and a draft offer, a hold and a chat line; their ids."""
    product = {"sku": "MUG", "title": "Mug", "unit_price": 900, "currency": "EUR", "stock": 50}
    show = {
        "room_id": ROOM,
        "title": "Fuzzed",
        "products": [product | {"countdown_seconds": 0, "per_user_limit": 5}, product],
    }
    resp = await client.post("/api/shows", json=show, headers=HOST)
    assert resp.status == 201, await resp.text()
    launched, draft = [offer["id"] for offer in (await resp.json())["offers"]]
    resp = await client.post(f"/api/shows/{ROOM}/live", headers=HOST)
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/shows/{ROOM}/offers/{launched}/launch", headers=HOST)
    assert resp.status == 200, await resp.text()
    press = {"idempotency_key": "fuzz-press-1"}
    resp = await client.post(
        f"/api/offers/{launched}/reservations", json=press, headers=viewer(BUYER)
    )
    assert resp.status == 201, await resp.text()
    hold = (await resp.json())["hold"]["hold_id"]
    resp = await client.post(f"/api/rooms/{ROOM}/announcements", json={"text": "hi"}, headers=HOST)
    assert resp.status == 201, await resp.text()
    offset = (await resp.json())["offset"]
    # Another token than the one the fuzzer signs in with, for it to revoke.
    resp = await client.post("/api/host/tokens", json={"label": "fuzz"}, headers=HOST)
    assert resp.status == 201, await resp.text()
    token_id = (await resp.json())["token_id"]
    poll = {"question": "Red or blue?", "answers": ["Red", "Blue"]}
    resp = await client.post(f"/api/shows/{ROOM}/polls", json=poll, headers=HOST)
    assert resp.status == 201, await resp.text()
    poll_id = (await resp.json())["poll_id"]
    giveaway = {"title": "Mug", "sku": "MUG", "prizes": 2}
    resp = await client.post(f"/api/shows/{ROOM}/giveaways", json=giveaway, headers=HOST)
    assert resp.status == 201, await resp.text()
    giveaway_id = (await resp.json())["giveaway_id"]
    # A group offer with a forming group (docs/groups.md), started by another viewer.
    terms = {"group_price": 500, "group_size": 3, "window_minutes": 10}
    resp = await client.post(f"/api/offers/{launched}/group-terms", json=terms, headers=HOST)
    assert resp.status == 200, await resp.text()
    resp = await client.post(
        f"/api/offers/{launched}/groups",
        json={"idempotency_key": "fuzz-group-1"},
        headers=viewer("fuzz-group-leader"),
    )
    assert resp.status == 201, await resp.text()
    group_id = (await resp.json())["group"]["id"]
    # A live coupon drop and a ready red packet rain (docs/coupons.md).
    drop = {"title": "Five off", "amount_off": 500, "quota": 10}
    resp = await client.post(f"/api/shows/{ROOM}/coupon-drops", json=drop, headers=HOST)
    assert resp.status == 201, await resp.text()
    drop_id = (await resp.json())["drop_id"]
    resp = await client.post(f"/api/shows/{ROOM}/coupon-drops/{drop_id}/start", headers=HOST)
    assert resp.status == 200, await resp.text()
    rain = {"title": "Rain", "pool": 100, "packets": 10}
    resp = await client.post(f"/api/shows/{ROOM}/red-packet-rains", json=rain, headers=HOST)
    assert resp.status == 201, await resp.text()
    rain_id = (await resp.json())["rain_id"]
    return {
        "room_id": [ROOM],
        "offer_id": [launched, draft],
        "hold_id": [hold],
        "offset": [offset],
        "token_id": [token_id],
        "filename": ["console.js", "app.css"],
        "poll_id": [poll_id],
        "giveaway_id": [giveaway_id],
        "group_id": [group_id],
        "drop_id": [drop_id],
        "rain_id": [rain_id],
        "host_id": [HOST_ID],
    }


def whole_numbers(value: Any) -> Any:
    """``value`` with whole floats written as integers (92.0 as 92).

    JSON Schema's ``integer`` counts 92.0 as a whole number; the server, on purpose, reads
    only a number written without a fraction as one (tests/test_bodies.py), and says so in
    the description. A schema cannot say how a number is written, so the fuzzer writes
    whole numbers as clients do.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value


def broken(case: Case) -> bool:
    """Whether a negative case breaks anything: one whose only broken part is an optional
    body it then leaves out is a valid request."""
    assert case.meta is not None
    return any(
        component.mode.is_negative
        and not (location is ParameterLocation.BODY and case.body is NOT_SET)
        for location, component in case.meta.components.items()
    )


def credentials(operation: Mapping[str, Any]) -> dict[str, str]:
    """The headers that sign in as the operation's security asks."""
    schemes = {name for option in operation.get("security", []) for name in option}
    if "viewerToken" in schemes:
        return viewer(BUYER)
    if "hostApiToken" in schemes:
        return dict(HOST)
    return {}


def fuzz(
    described: dict[str, Any], method: str, path: str, base_url: str, ids: Mapping[str, list[str]]
) -> None:
    """Call one operation with generated requests; fail on the first answer out of line."""
    operation = schemathesis.openapi.from_dict(described)[path][method]
    headers = credentials(described["paths"][path][method.lower()])
    names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
    known = [{name: value for name in names for value in ids[name][i : i + 1]} for i in range(2)]
    known = [chosen for chosen in known if len(chosen) == len(names)]
    strategy = st.one_of(
        operation.as_strategy(),
        st.sampled_from(known).flatmap(
            lambda chosen: operation.as_strategy(path_parameters=chosen)
        ),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES * 3,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def call(case: Case) -> None:
        meta = case.meta
        assert meta is not None
        if meta.generation.mode.is_positive:
            case.body = whole_numbers(case.body)
        # A case that breaks the credentials (no Authorization header, say) is sent as
        # generated: the server must refuse it. Every other case signs in for real.
        signed = {} if meta.is_negative_at(ParameterLocation.HEADER) else headers
        checks = CHECKS if broken(case) or meta.generation.mode.is_positive else VALID_CHECKS
        case.call_and_validate(base_url=base_url, headers=signed, checks=checks, timeout=10)

    call()


@pytest.mark.parametrize(("method", "path"), fuzzed())
async def test_the_api_answers_as_its_description_says(
    client: Client, method: str, path: str
) -> None:
    ids = await existing(client)
    base_url = str(client.make_url("")).rstrip("/")
    await asyncio.to_thread(fuzz, description(), method, path, base_url, ids)


async def test_the_fuzzer_fails_on_an_answer_the_description_does_not_give(
    client: Client,
) -> None:
    """Guards against a fuzzer that checks nothing: with the 404 of an offer taken out of
    the description, the unknown offers it asks for fail the run."""
    ids = await existing(client)
    base_url = str(client.make_url("")).rstrip("/")
    wrong = copy.deepcopy(description())
    del wrong["paths"]["/api/offers/{offer_id}"]["get"]["responses"]["404"]
    with pytest.raises(FailureGroup, match="Undocumented status code"):
        await asyncio.to_thread(fuzz, wrong, "GET", "/api/offers/{offer_id}", base_url, ids)


# ------------------------------------------------------------- what the fuzzer found


async def test_the_offers_of_a_room_no_room_can_be_are_404_unknown_room(client: Client) -> None:
    """Found by the fuzzer: ``GET /api/rooms/<a name no room can have>/offers`` answered 200
    with no offers, where the description (and every other room address) says 404."""
    resp = await client.get("/api/rooms/%F3%A4%8D%88%01/offers")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "unknown_room"
    resp = await client.get("/api/rooms/room-1/offers")
    assert resp.status == 200
    assert await resp.json() == {"offers": []}


async def test_a_method_an_address_does_not_take_is_405_naming_those_it_takes(
    client: Client,
) -> None:
    """Found beside the fuzzer (what its unsupported-method check asks): the JSON 405
    dropped aiohttp's ``Allow`` header, which a 405 must carry (RFC 9110, 15.5.6)."""
    resp = await client.patch("/api/offers/1")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
