"""Request bodies and socket messages are decoded and checked in one step into typed objects,
and every bad one is answered with a stable code and a message that says what to send."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from server.api import bodies
from server.api.decoding import convert_message, decode_body
from server.api.errors import answer_for
from server.errors import Invalid

PRODUCT = {"sku": "MUG", "title": "Mug", "unit_price": 1999, "currency": "EUR", "stock": 5}


def error_of(raw: bytes, type_: type[msgspec.Struct]) -> dict[str, Any]:
    with pytest.raises(Invalid) as caught:
        decode_body(raw, type_)
    answer = answer_for(caught.value)
    assert answer.status == 400
    error: dict[str, Any] = answer.body()["error"]
    return error


def test_a_good_press_becomes_a_typed_object_with_defaults() -> None:
    press = decode_body(b'{"idempotency_key": "press-0001"}', bodies.Reserve)
    assert press == bodies.Reserve(idempotency_key="press-0001", quantity=1)


@pytest.mark.parametrize("raw", [b"", b"  \n", b"{}"])
def test_an_empty_body_is_an_empty_object(raw: bytes) -> None:
    assert decode_body(raw, bodies.Empty) == bodies.Empty()


def test_null_counts_as_not_sent() -> None:
    """The console sends null for a number field left empty: the default applies."""
    product = {**PRODUCT, "per_user_limit": None}
    raw = msgspec.json.encode({"room_id": "r1", "title": "T", "products": [product]})
    show = decode_body(raw, bodies.CreateShow)
    assert show.products[0].per_user_limit == 1
    assert error_of(b'{"quantity": 2, "idempotency_key": null}', bodies.Reserve) == {
        "code": "missing_field",
        "message": "Field 'idempotency_key' is required.",
        "field": "idempotency_key",
    }


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (b"{not json", "invalid_json", "The body is not valid JSON: "),
        (b"[1, 2]", "invalid_body", "The body must be a JSON object."),
        (b'{"quantity": 1}', "missing_field", "Field 'idempotency_key' is required."),
        (b'{"quantity": "1", "idempotency_key": "press-0001"}', "invalid_field", "whole number"),
        (b'{"quantity": true, "idempotency_key": "press-0001"}', "invalid_field", "whole number"),
        (b'{"quantity": 1.5, "idempotency_key": "press-0001"}', "invalid_field", "whole number"),
        (b'{"quantity": 0, "idempotency_key": "press-0001"}', "out_of_range", "between 1 and 100"),
        (b'{"quantity": 1e400, "idempotency_key": "press-0001"}', "invalid_field", "whole number"),
        (b'{"quantity": 1e30, "idempotency_key": "press-0001"}', "out_of_range", "between 1"),
        (b'{"quantity": 1.0, "idempotency_key": "press-0001"}', "invalid_field", "whole number"),
        (
            b'{"quantity": 99999999999999999999, "idempotency_key": "press-0001"}',
            "out_of_range",
            "between 1 and 100",
        ),
        (b'{"idempotency_key": "short"}', "invalid_field", "8-64 letters, digits"),
        (b'{"idempotency_key": "press-0001\\n"}', "invalid_field", "8-64 letters, digits"),
        (b'{"idempotency_key": 12345678}', "invalid_field", "must be a string"),
        (
            b'{"idempotency_key": "press-0001", "price": 0}',
            "unknown_field",
            "Unknown field 'price'; this endpoint takes idempotency_key, quantity.",
        ),
    ],
)
def test_a_bad_press_is_explained(raw: bytes, code: str, message: str) -> None:
    error = error_of(raw, bodies.Reserve)
    assert error["code"] == code
    assert message in error["message"]


@pytest.mark.parametrize(
    ("raw", "type_"),
    [
        (b'{"idempotency_key": "press-0001", "admin": null}', bodies.Reserve),
        (b'{"force": null}', bodies.Empty),
    ],
)
def test_an_unknown_field_is_refused_even_when_null(
    raw: bytes, type_: type[msgspec.Struct]
) -> None:
    """Guards against null-means-not-sent letting unknown fields through."""
    assert error_of(raw, type_)["code"] == "unknown_field"


def test_an_unknown_field_is_named_before_a_bad_one() -> None:
    error = error_of(b'{"quantity": 0, "idempotency_key": "press-0001", "qty": 2}', bodies.Reserve)
    assert (error["code"], error["field"]) == ("unknown_field", "qty")


def test_a_chat_message_with_anything_but_text_is_refused() -> None:
    """Guards against {"text": "hi", "foo": null} being posted."""
    with pytest.raises(Invalid) as caught:
        convert_message({"text": "hi", "foo": None}, bodies.ChatMessage)
    assert answer_for(caught.value).body()["error"]["code"] == "invalid_message"


def test_out_of_range_names_the_bounds() -> None:
    assert error_of(b'{"seconds": 601}', bodies.SlowMode) == {
        "code": "out_of_range",
        "message": "Field 'seconds' must be between 0 and 600.",
        "field": "seconds",
        "min": 0,
        "max": 600,
    }


def test_an_action_without_fields_refuses_any_field() -> None:
    assert error_of(b'{"force": true}', bodies.Empty)["message"] == (
        "Unknown field 'force'; this endpoint takes no fields."
    )


def test_a_hot_offer_cannot_have_more_buckets_than_units() -> None:
    offer = {**PRODUCT, "room_id": "r1", "stock": 2, "buckets": 3}
    assert error_of(msgspec.json.encode(offer), bodies.CreateOffer) == {
        "code": "invalid_field",
        "message": "Field 'buckets' must be at most the stock.",
        "field": "buckets",
    }


@pytest.mark.parametrize(
    ("products", "expected"),
    [
        (
            [PRODUCT, {**PRODUCT, "stock": 0}],
            {
                "code": "out_of_range",
                "message": "Product 2: Field 'stock' must be between 1 and 10000000.",
                "field": "stock",
                "min": 1,
                "max": 10_000_000,
                "product": 1,
            },
        ),
        (
            [{k: v for k, v in PRODUCT.items() if k != "sku"}],
            {
                "code": "missing_field",
                "message": "Product 1: Field 'sku' is required.",
                "field": "sku",
                "product": 0,
            },
        ),
        (
            [PRODUCT, PRODUCT, "mug"],
            {"code": "invalid_field", "message": "Product 3 must be an object."},
        ),
        (
            [PRODUCT] * 51,
            {
                "code": "invalid_field",
                "message": "'products' must be a list of at most 50.",
                "field": "products",
            },
        ),
    ],
)
def test_a_bad_product_in_a_line_up_is_named_by_its_position(
    products: list[Any], expected: dict[str, Any]
) -> None:
    raw = msgspec.json.encode({"room_id": "r1", "title": "Evening", "products": products})
    assert error_of(raw, bodies.CreateShow) == expected


@pytest.mark.parametrize("words", [["   "], ["x" * 65], "mug", [1]])
def test_blocked_words_have_one_rule_for_every_mistake(words: Any) -> None:
    raw = msgspec.json.encode({"words": words})
    assert error_of(raw, bodies.BlockedWords) == {
        "code": "invalid_field",
        "message": 'Send {"words": [...]}: up to 500 words of 1-64 characters.',
        "field": "words",
    }


def test_socket_messages_are_checked_like_bodies() -> None:
    press = convert_message(
        {"offer_id": "7", "quantity": 2, "idempotency_key": "press-0001"}, bodies.ReserveMessage
    )
    assert (press.offer_id, press.quantity) == ("7", 2)
    with pytest.raises(Invalid) as caught:
        convert_message({"offer_id": "07", "idempotency_key": "press-0001"}, bodies.ReserveMessage)
    assert answer_for(caught.value).body()["error"] == {
        "code": "invalid_field",
        "message": "Field 'offer_id' must be an offer id.",
        "field": "offer_id",
    }


@pytest.mark.parametrize(
    ("type_", "body", "field"),
    [
        (bodies.Product, {**PRODUCT, "title": "Mug \u202eTOPS"}, "title"),
        (bodies.CreateShow, {"room_id": "r1", "title": "\u2067Evening\u2069"}, "title"),
        (bodies.Announcement, {"text": "10% off \u202e!won"}, "text"),
        (bodies.DemoViewer, {"display_name": "\u202eanna"}, "display_name"),
    ],
)
def test_text_shown_to_others_loses_its_bidirectional_controls(
    type_: type[msgspec.Struct], body: dict[str, Any], field: str
) -> None:
    """Guards against a title or name that shows reversed to every viewer (U+202E)."""
    decoded = decode_body(msgspec.json.encode(body), type_)
    assert not any(c in getattr(decoded, field) for c in "\u202e\u2067\u2069")


def test_a_title_of_nothing_but_controls_is_refused() -> None:
    assert error_of(msgspec.json.encode({**PRODUCT, "title": "\u202e"}), bodies.Product) == {
        "code": "invalid_field",
        "message": "Field 'title' must be 1-200 characters on one line.",
        "field": "title",
    }
