"""Reads and checks JSON request bodies; every problem is an ``Invalid`` with a stable code."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from ..errors import ErrorCode, Invalid


@dataclass(frozen=True, slots=True)
class Int:
    name: str
    min: int
    max: int
    required: bool = True
    default: int | None = None


@dataclass(frozen=True, slots=True)
class Str:
    name: str
    pattern: re.Pattern[str]
    hint: str
    required: bool = True
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Bool:
    name: str
    required: bool = True
    default: bool | None = None


FieldSpec = Int | Str | Bool

SLUG = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SLUG_HINT = "1-64 letters, digits or _ . : -"
USER_FIELD = Str("user_id", re.compile(r"[A-Za-z0-9_.:@-]{1,64}"), "a user id")


async def read_body(request: web.Request, spec: Sequence[FieldSpec]) -> dict[str, Any]:
    """The request's JSON object, checked against ``spec``; unknown fields are refused."""
    return check_fields(await read_json_object(request), spec)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request's body as a JSON object (an empty body is ``{}``), unchecked."""
    raw = await request.read()
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Invalid(ErrorCode.INVALID_JSON, f"The body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise Invalid(ErrorCode.INVALID_BODY, "The body must be a JSON object.")
    return data


def check_fields(
    data: dict[str, Any], spec: Sequence[FieldSpec], ignore: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``data`` checked against ``spec``; fields in ``ignore`` are allowed and skipped."""
    known = _names(spec)
    if len(data) > len(spec) + len(ignore) or any(
        name not in known and name not in ignore for name in data
    ):
        unknown = sorted(name for name in data if name not in known and name not in ignore)
        raise Invalid(
            ErrorCode.UNKNOWN_FIELD,
            f"Unknown field {unknown[0]!r}; this endpoint takes {', '.join(sorted(known))}.",
            field=unknown[0],
        )
    return {f.name: _check(f, data) for f in spec}


@functools.cache
def _names(spec: Sequence[FieldSpec]) -> frozenset[str]:
    return frozenset(f.name for f in spec)


def _check(f: FieldSpec, data: dict[str, Any]) -> Any:
    if f.name not in data or data[f.name] is None:
        if f.required:
            raise Invalid(ErrorCode.MISSING_FIELD, f"Field {f.name!r} is required.", field=f.name)
        return f.default
    value = data[f.name]
    if isinstance(f, Bool):
        if not isinstance(value, bool):
            raise Invalid(
                ErrorCode.INVALID_FIELD, f"Field {f.name!r} must be true or false.", field=f.name
            )
        return value
    if isinstance(f, Int):
        # JSON parsers read integers past 64 bits as floats: still just "too big".
        if isinstance(value, float) and value.is_integer() and not f.min <= value <= f.max:
            value = int(value)
        # bool is an int in Python, but `true` is no quantity.
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(
                ErrorCode.INVALID_FIELD, f"Field {f.name!r} must be a whole number.", field=f.name
            )
        if not f.min <= value <= f.max:
            raise Invalid(
                ErrorCode.OUT_OF_RANGE,
                f"Field {f.name!r} must be between {f.min} and {f.max}.",
                field=f.name,
                min=f.min,
                max=f.max,
            )
        return value
    if not isinstance(value, str):
        raise Invalid(ErrorCode.INVALID_FIELD, f"Field {f.name!r} must be a string.", field=f.name)
    if not f.pattern.fullmatch(value):
        raise Invalid(ErrorCode.INVALID_FIELD, f"Field {f.name!r} must be {f.hint}.", field=f.name)
    return value
