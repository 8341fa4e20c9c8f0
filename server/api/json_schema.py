"""JSON Schema of msgspec Structs, as an OpenAPI 3.1 description needs it.

msgspec writes JSON Schema 2020-12 from the Structs the server decodes with; this adds each
field's ``hint`` as its description and writes the patterns in the regex dialect of JSON
Schema (ECMA-262) with the meaning Python's ``re`` gives them on the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec


def has_required_fields(struct: type[msgspec.Struct]) -> bool:
    """Whether a body of this type must name at least one field (else ``{}`` will do)."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    return any(struct_field.required for struct_field in info.fields)


def struct_schemas(structs: Iterable[type[msgspec.Struct]], ref: str) -> dict[str, Any]:
    """The schemas of ``structs`` and of the Structs they hold, by name; refs per ``ref``."""
    ordered = sorted(structs, key=lambda t: t.__name__)
    _, components = msgspec.json.schema_components(ordered, ref_template=ref)
    for struct in _all_structs(ordered):
        schema = components.get(struct.__name__)
        if schema is not None:
            _add_hints(struct, schema)
    return {name: _ecma(schema) for name, schema in sorted(components.items())}


def _all_structs(types: Iterable[type[msgspec.Struct]]) -> Iterator[type[msgspec.Struct]]:
    """The Structs and those their fields hold, each once."""
    seen: set[type[msgspec.Struct]] = set()
    stack = list(types)
    while stack:
        struct = stack.pop()
        if struct in seen:
            continue
        seen.add(struct)
        yield struct
        info = msgspec.inspect.type_info(struct)
        assert isinstance(info, msgspec.inspect.StructType)
        for struct_field in info.fields:
            stack.extend(_inner_structs(struct_field.type))


def _inner_structs(t: msgspec.inspect.Type) -> Iterator[type[msgspec.Struct]]:
    if isinstance(t, msgspec.inspect.StructType):
        yield t.cls
    elif isinstance(t, msgspec.inspect.Metadata):
        yield from _inner_structs(t.type)
    elif isinstance(t, msgspec.inspect.ListType):
        yield from _inner_structs(t.item_type)
    elif isinstance(t, msgspec.inspect.UnionType):
        for member in t.types:
            yield from _inner_structs(member)


def _add_hints(struct: type[msgspec.Struct], schema: dict[str, Any]) -> None:
    """Each field's ``hint`` (bodies.py) as its description: what a good value looks like."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    for struct_field in info.fields:
        extra = _extra(struct_field.type)
        prop = schema.get("properties", {}).get(struct_field.encode_name)
        if prop is not None and "hint" in extra and "description" not in prop:
            prop["description"] = extra["hint"]


def _extra(t: msgspec.inspect.Type) -> dict[str, Any]:
    if isinstance(t, msgspec.inspect.Metadata):
        return dict(t.extra or {})
    if isinstance(t, msgspec.inspect.UnionType):
        for member in t.types:
            if found := _extra(member):
                return found
    return {}


def _ecma(schema: Any) -> Any:
    """``schema`` with its patterns in the dialect JSON Schema uses (ECMA-262, not Python's)."""
    if isinstance(schema, dict):
        return {
            key: ecma_pattern(value) if key == "pattern" else _ecma(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_ecma(item) for item in schema]
    return schema


#: Python's ``\\s`` in a str pattern, spelled out: ECMA-262's ``\\s`` is another set (it has
#: U+FEFF, and lacks U+001C-U+001F and U+0085).
PYTHON_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def ecma_pattern(pattern: str) -> str:
    """A Python pattern of bodies.py in the regex dialect of JSON Schema (ECMA-262), with
    the same meaning: ``\\Z`` is ``$`` there, ``\\s`` and ``.`` are spelled out as the sets
    Python means, and ``(?s)`` (a dot that also matches a newline) is ``[\\s\\S]``."""
    dotall = pattern.startswith("(?s)")
    if dotall:
        pattern = pattern[4:]
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped == "s":
                out.append(PYTHON_SPACE if in_class else f"[{PYTHON_SPACE}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{PYTHON_SPACE}]")
            elif escaped == "Z" and not in_class:
                out.append("$")
            else:
                out.append(char + escaped)
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == ".":
            char = r"[\s\S]" if dotall else r"[^\n]"
        out.append(char)
        i += 1
    return "".join(out)
