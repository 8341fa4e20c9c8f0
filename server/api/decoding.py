"""Decodes request bodies and socket messages into typed objects in one step (msgspec).

A good body costs one msgspec decode. Only a bad one pays for turning msgspec's error into
the API's stable codes (``invalid_json``, ``invalid_body``, ``unknown_field``,
``missing_field``, ``invalid_field``, ``out_of_range``) and a message written for the
person who sent it, built from the field's own constraints and hint.
"""

from __future__ import annotations

import functools
import re
from typing import Any, TypeVar

import msgspec
from aiohttp import web
from msgspec import inspect

from ..errors import ErrorCode, Invalid

T = TypeVar("T", bound=msgspec.Struct)

#: "<what went wrong> - at `$.products[2].stock`" (the path is missing at the top level).
_ERROR = re.compile(r"^(?P<detail>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_NAMED_FIELD = re.compile(r"field `([^`]*)`")


class Explained(ValueError):
    """A check of a body's own that its field constraints cannot express (raised in a
    Struct's ``__post_init__``); reaches the caller as ``invalid_field`` on ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@functools.cache
def _decoder(type_: type[T]) -> msgspec.json.Decoder[T]:
    return msgspec.json.Decoder(type_)


#: A request's body once read, for a second reader (the host audit).
_RAW_BODY = web.RequestKey("raw_body", bytes)


async def read_body(request: web.Request, type_: type[T]) -> T:
    """The request's JSON body as a ``type_``, or ``Invalid`` saying what is wrong with it."""
    return decode_body(await raw_body(request), type_)


async def raw_body(request: web.Request) -> bytes:
    """The request's whole body (at most the app's ``client_max_size``), however many times
    it is asked for. Read bodies through this, not ``request.read()``: the bytes taken here
    are not in aiohttp's own copy.

    A small body nearly always arrives with its headers, whole: it is taken from the buffer
    as it lies. aiohttp's ``read`` would await the buffer twice and copy the bytes twice
    (8,000 instructions, 2.5% of a press; docs/benchmarks.md)."""
    content = request.content
    # Whole and still all in the buffer: nothing read it before (a reader would have
    # emptied it), so there is no copy to look up first. (Asking the request for a key it
    # does not hold raises and catches a KeyError: 4,000 instructions, 1% of a press.)
    if content.is_eof() and not content.at_eof():
        raw = content.read_nowait()
        limit = request.client_max_size  # 0: no limit, as aiohttp reads it
        if limit and len(raw) > limit:
            raise web.HTTPRequestEntityTooLarge(limit, len(raw))
    elif _RAW_BODY in request:
        return request[_RAW_BODY]
    else:
        raw = await request.read()
    request[_RAW_BODY] = raw
    return raw


def decode_body(raw: bytes, type_: type[T]) -> T:
    """``raw`` (a JSON object; an empty body is ``{}``) as a ``type_``, or ``Invalid``."""
    try:
        body: T = _decoder(type_).decode(raw)
        return body
    except msgspec.ValidationError as exc:
        error = exc
    except msgspec.DecodeError as exc:
        if not raw.strip():
            return decode_body(b"{}", type_)
        raise Invalid(ErrorCode.INVALID_JSON, f"The body is not valid JSON: {exc}") from exc
    try:
        data = msgspec.json.decode(raw)
    except msgspec.MsgspecError:  # a number past a float's range: the typed error says it
        data = None
    return _second_chance(data, type_, error)


def convert_message(data: dict[str, Any], type_: type[T]) -> T:
    """A socket message already parsed from JSON, as a ``type_``, or ``Invalid``."""
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        return _second_chance(data, type_, exc)


def _second_chance(data: Any, type_: type[T], error: msgspec.ValidationError) -> T:
    """The body again without its null fields, or the error that explains what is wrong."""
    # The console sends null for a field left empty, and null has always meant "not given".
    # Only fields of the body are dropped: an unknown field is refused, null or not.
    without = _without_nulls(data, _info(type_))
    if without is not data:
        try:
            return msgspec.convert(without, type_)
        except msgspec.ValidationError as exc:
            error = exc
    raise explain(error, type_, data) from error


def _without_nulls(data: Any, struct: inspect.StructType | None) -> Any:
    """``data`` without the null values of ``struct``'s fields, nested bodies included;
    ``data`` itself when there are none."""
    if struct is None or not isinstance(data, dict):
        return data
    fields = {f.encode_name: f for f in struct.fields}
    kept: dict[str, Any] = {}
    changed = False
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            kept[key] = value
            continue
        if value is None:
            changed = True
            continue
        nested = _struct_of(field.type)
        if isinstance(value, list) and nested is not None:
            items = [_without_nulls(item, nested) for item in value]
            changed |= any(new is not old for new, old in zip(items, value, strict=True))
            kept[key] = items
        else:
            new = _without_nulls(value, nested)
            changed |= new is not value
            kept[key] = new
    return kept if changed else data


def explain(
    error: msgspec.ValidationError, type_: type[msgspec.Struct], data: Any = None
) -> Invalid:
    """The API error (stable code, message for people) that says what ``error`` found in
    ``data`` (the same body, parsed without a type, when it could be)."""
    match = _ERROR.match(str(error))
    assert match is not None  # the pattern matches any text
    detail, path = match["detail"], _path(match["path"] or "")
    override = getattr(type_, "__invalid__", None)
    if override is not None:
        code, field, message = override
        return Invalid(code, message, field=field) if field else Invalid(code, message)
    if isinstance(error.__cause__, Explained):
        cause = error.__cause__
        return _in_item(Invalid(ErrorCode.INVALID_FIELD, cause.message, field=cause.field), path)
    if not path and detail.startswith("Expected `object`"):
        return Invalid(ErrorCode.INVALID_BODY, "The body must be a JSON object.")
    struct, item_path, field = _walk(type_, path)
    if struct is None:
        return Invalid(ErrorCode.INVALID_BODY, "The body does not have the expected shape.")
    named = _NAMED_FIELD.search(detail)
    # An unknown field is named first, wherever it stands: it is the likelier mistake
    # (a misspelt name) and explains the others.
    unknown = _unknown_fields(_at(data, item_path), struct)
    if unknown or (detail.startswith("Object contains unknown field") and named):
        name = unknown[0] if unknown else (named[1] if named else "")
        known = ", ".join(sorted(f.encode_name for f in struct.fields)) or "no fields"
        error_out = Invalid(
            ErrorCode.UNKNOWN_FIELD,
            f"Unknown field {name!r}; this endpoint takes {known}.",
            field=name,
        )
    elif detail.startswith("Object missing required field") and named:
        error_out = Invalid(
            ErrorCode.MISSING_FIELD, f"Field {named[1]!r} is required.", field=named[1]
        )
    elif field is not None:
        error_out = _field_error(field, detail, _at(data, path))
    elif item_path and item_path == path and detail.startswith("Expected `object`"):
        noun, position = _item_name(item_path)
        return Invalid(
            ErrorCode.INVALID_FIELD, f"{noun.capitalize()} {position + 1} must be an object."
        )
    else:
        return Invalid(ErrorCode.INVALID_BODY, "The body does not have the expected shape.")
    return _in_item(error_out, item_path)


def _path(text: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _PATH_PART.findall(text)]


def _walk(
    type_: type[msgspec.Struct], path: list[str | int]
) -> tuple[inspect.StructType | None, list[str | int], inspect.Field | None]:
    """The innermost struct on ``path``, the list items that led to it (``["products", 2]``),
    and the field the path ends on (None when it ends on a struct or a list item)."""
    struct: inspect.StructType | None = _info(type_)
    items: list[str | int] = []
    i = 0
    while struct is not None and i < len(path):
        part = path[i]
        field = next((f for f in struct.fields if f.encode_name == part), None)
        if field is None:
            return None, items, None
        if i == len(path) - 1:
            return struct, items, field
        plain = _plain(field.type)
        if isinstance(plain, inspect.ListType) and isinstance(path[i + 1], int):
            if i + 2 == len(path) and _struct_of(plain.item_type) is None:
                # An item of a list of plain values (strings...): the list's field answers.
                return struct, items, field
            items += [part, path[i + 1]]
            struct = _struct_of(plain.item_type)
            i += 2
        else:
            items.append(part)
            struct = _struct_of(field.type)
            i += 1
    return struct, items, None


@functools.cache
def _info(type_: type[msgspec.Struct]) -> inspect.StructType:
    info = inspect.type_info(type_)
    assert isinstance(info, inspect.StructType)
    return info


def _plain(t: inspect.Type) -> inspect.Type:
    """The type without its metadata wrapper and without ``| None``."""
    if isinstance(t, inspect.Metadata):
        return _plain(t.type)
    if isinstance(t, inspect.UnionType):
        others = [x for x in t.types if not isinstance(x, inspect.NoneType)]
        if len(others) == 1:
            return _plain(others[0])
    return t


def _extra(t: inspect.Type) -> dict[str, Any]:
    if isinstance(t, inspect.Metadata):
        return dict(t.extra or {})
    if isinstance(t, inspect.UnionType):
        for x in t.types:
            if extra := _extra(x):
                return extra
    return {}


def _struct_of(t: inspect.Type) -> inspect.StructType | None:
    plain = _plain(t)
    if isinstance(plain, inspect.StructType):
        return plain
    if isinstance(plain, inspect.ListType):
        return _struct_of(plain.item_type)
    return None


def _unknown_fields(data: Any, struct: inspect.StructType) -> list[str]:
    if not isinstance(data, dict):
        return []
    known = {f.encode_name for f in struct.fields}
    return sorted(name for name in data if name not in known)


def _at(data: Any, path: list[str | int]) -> Any:
    """What ``path`` points to in ``data``, or None."""
    for part in path:
        if isinstance(part, str) and isinstance(data, dict):
            data = data.get(part)
        elif isinstance(part, int) and isinstance(data, list) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _field_error(field: inspect.Field, detail: str, value: Any = None) -> Invalid:
    name, plain, extra = field.encode_name, _plain(field.type), _extra(field.type)
    if "message" in extra:
        return Invalid(ErrorCode.INVALID_FIELD, extra["message"], field=name)
    if isinstance(plain, inspect.BoolType):
        return Invalid(
            ErrorCode.INVALID_FIELD, f"Field {name!r} must be true or false.", field=name
        )
    if isinstance(plain, inspect.IntType):
        low, high = plain.ge, plain.le
        # JSON parsers read integers past 64 bits as floats (1e30): still just "too big".
        too_big = (
            isinstance(value, float)
            and value.is_integer()
            and not (low or 0) <= value <= (high if high is not None else value)
        )
        if (
            (detail.startswith("Expected `int` ") or too_big)
            and low is not None
            and high is not None
        ):
            return Invalid(
                ErrorCode.OUT_OF_RANGE,
                f"Field {name!r} must be between {low} and {high}.",
                field=name,
                min=low,
                max=high,
            )
        return Invalid(
            ErrorCode.INVALID_FIELD, f"Field {name!r} must be a whole number.", field=name
        )
    if isinstance(plain, inspect.StrType):
        if "got" in detail:
            return Invalid(ErrorCode.INVALID_FIELD, f"Field {name!r} must be a string.", field=name)
        hint = extra.get("hint", "of the documented form")
        return Invalid(ErrorCode.INVALID_FIELD, f"Field {name!r} must be {hint}.", field=name)
    hint = extra.get("hint")  # lists and objects say what they must hold
    message = f"Field {name!r} must be {hint}." if hint else f"Field {name!r} is not valid."
    return Invalid(ErrorCode.INVALID_FIELD, message, field=name)


def _item_name(item_path: list[str | int]) -> tuple[str, int]:
    """("product", 2) for ``["products", 2]``: the innermost list item on the path."""
    container, position = str(item_path[-2]), int(item_path[-1])
    return (container[:-1] if container.endswith("s") else container), position


def _in_item(error: Invalid, item_path: list[str | int]) -> Invalid:
    """Name the list item an error is in: "Product 2: ..." with ``"product": 1``."""
    if item_path and isinstance(item_path[-1], int):
        noun, position = _item_name(item_path)
        error.details[noun] = position
        error.message = f"{noun.capitalize()} {position + 1}: {error.message}"
    return error
