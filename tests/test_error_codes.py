"""Every stable error code is listed once (server.errors.ErrorCode) and documented once
(docs/api.md's "Error codes" table), and each kind of error keeps its HTTP status."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from server.api.errors import answer_for, status_of
from server.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    Invalid,
    LivesaleError,
    NotFound,
    RateLimited,
    Unauthorized,
)
from stockkeeper import errors as stock_errors
from stockkeeper.models import ConfirmResult, ReserveResult

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def documented_codes() -> list[str]:
    """The codes named in the second column of docs/api.md's "Error codes" table."""
    text = API_DOC.read_text("utf-8")
    section = text.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    codes = []
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 3:
            codes += re.findall(r"`([a-z_]+)`", cells[2])
    return codes


def test_the_api_docs_name_every_error_code_once() -> None:
    """Guards against a code clients may see that docs/api.md never mentions (or a
    documented code the server no longer has)."""
    documented = documented_codes()
    assert sorted(set(documented)) == sorted(documented), "a code is listed twice"
    assert set(documented) == {code.value for code in ErrorCode}


def _stock_error_classes() -> list[type[stock_errors.StockKeeperError]]:
    found: list[type[stock_errors.StockKeeperError]] = []
    todo = [stock_errors.StockKeeperError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo += kind.__subclasses__()
    return found


@pytest.mark.parametrize("kind", _stock_error_classes(), ids=lambda kind: kind.__name__)
def test_every_stock_keeper_error_code_is_in_the_registry(
    kind: type[stock_errors.StockKeeperError],
) -> None:
    assert kind.code in {code.value for code in ErrorCode}


def test_every_refused_reservation_or_payment_is_in_the_registry() -> None:
    outcomes = set(typing.get_args(typing.get_type_hints(ReserveResult)["outcome"]))
    outcomes |= set(typing.get_args(typing.get_type_hints(ConfirmResult)["outcome"]))
    # "paid": a group seat paid while its group forms (202), not a refusal.
    refused = outcomes - {"reserved", "confirmed", "paid"}
    assert len(refused) == 10
    assert refused <= {code.value for code in ErrorCode}


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (Invalid, 400),
        (Unauthorized, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (RateLimited, 429),
        (LivesaleError, 500),
    ],
)
def test_each_kind_of_error_has_its_status(kind: type[LivesaleError], status: int) -> None:
    error = kind(ErrorCode.INVALID_FIELD, "Field 'x' is wrong.", field="x")
    assert status_of(error) == status
    answer = answer_for(error)
    details = {"field": "x", **({"retriable": True} if error.retriable else {})}
    assert answer.body() == {
        "error": {"code": "invalid_field", "message": "Field 'x' is wrong.", **details}
    }
    assert answer.event() == {
        "type": "error",
        "code": "invalid_field",
        "message": "Field 'x' is wrong.",
        **details,
    }


def test_domain_errors_say_whether_a_retry_can_help() -> None:
    assert RateLimited(ErrorCode.SLOW_MODE, "Wait.").retriable
    assert not Forbidden(ErrorCode.BANNED, "Gone.").retriable
    assert Invalid(ErrorCode.INVALID, "No.", retriable=True).retriable


def test_an_answer_says_when_sending_the_same_request_again_can_help() -> None:
    slow = answer_for(RateLimited(ErrorCode.SLOW_MODE, "Wait.", retry_after_s=3))
    assert slow.body()["error"] == {
        "code": "slow_mode",
        "message": "Wait.",
        "retry_after_s": 3,
        "retriable": True,
    }
    assert "retriable" not in answer_for(Forbidden(ErrorCode.BANNED, "Gone.")).body()["error"]
