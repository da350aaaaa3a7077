"""What a JSON schema's keywords may hold, checked before the mock makes anything from a schema.

A schema arrives in a request (``guided_json``, ``response_format``, a tool's ``parameters``), so it
can be anything JSON can say: ``"required": 1``, ``"properties": [1]``, ``"prefixItems": 5``. The
generator and the validator read keywords as the JSON Schema 2020-12 meta-schema types them (with
the draft-4..7 forms pydantic and older tools still send: ``items`` as an array, boolean
``exclusiveMinimum``, ``dependencies``), so every keyword they read is checked here first, and a
malformed one is a 400 naming where it is (``properties.a.required``) and what it must be.

Keywords the generator does not read are left alone (a schema may carry any annotation), except
``unevaluatedProperties`` and ``unevaluatedItems``, which constrain values in a way the mock does
not check: a schema that restricts with them is refused rather than answered unchecked.

Also here, as every reader needs them: :func:`resolve_ref` (a local ``$ref`` into the document)
and :func:`count_of` (a ``minLength``-style count, written ``5`` or ``5.0``).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable
from typing import Any, Final

from nim_mock.cassettes.canonical import a_json_type
from nim_mock.synth.budget import SchemaUnsupported

__all__ = ["JSON_TYPES", "count_of", "number_of", "resolve_ref", "schema_problem"]

JSON_TYPES: Final = ("object", "array", "string", "integer", "number", "boolean", "null")

_SCHEMA_MAPS: Final = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMAS: Final = (
    "additionalProperties",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
)
_SCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
_COUNTS: Final = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
)
_BOUNDS: Final = ("minimum", "maximum")
_EXCLUSIVE: Final = ("exclusiveMinimum", "exclusiveMaximum")
_UNCHECKED: Final = ("unevaluatedProperties", "unevaluatedItems")


def count_of(spec: dict[str, Any], key: str) -> int | None:
    """A count keyword's value as an ``int`` (``5.0`` is 5), ``None`` when absent; checked already."""
    value = spec.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def number_of(value: Any) -> int | float | None:
    """A finite JSON number, or ``None`` for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def resolve_ref(root: Any, ref: Any) -> Any:
    """The subschema a local ``$ref`` (``#``, ``#/$defs/Name``, JSON-pointer escapes) points at."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaUnsupported(f"only local $ref ('#/$defs/Name') is supported, got {ref!r:.80}")
    node = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SchemaUnsupported(f"$ref {ref!r:.80} points at nothing in the schema")
    return node


def schema_problem(schema: Any) -> str | None:
    """What is malformed in ``schema`` (``"at properties.a: 'required' must be ..."``), or ``None``.

    Walks every subschema once, those a local ``$ref`` points at included, with an explicit stack:
    a schema nested as deeply as a request may be cannot exhaust Python's recursion.
    """
    stack: list[tuple[Any, str]] = [(schema, "")]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return f"at {path or 'the top'}: a schema must be an object or a boolean, got {a_json_type(node)}"
        if id(node) in seen:
            continue
        seen.add(id(node))
        problem = _keyword_problem(node, path, lambda sub, where: stack.append((sub, where)))
        if problem is not None:
            return f"at {path or 'the top'}: {problem}"
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            with contextlib.suppress(SchemaUnsupported):  # reported, with the reference, when used
                stack.append((resolve_ref(schema, ref), ref))
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _keyword_problem(node: dict[str, Any], path: str, visit: Callable[[Any, str], None]) -> str | None:
    """The first malformed keyword of one schema object; its subschemas go to ``visit``."""
    for key in _SCHEMA_MAPS:
        if key in node:
            value = node[key]
            if not isinstance(value, dict):
                return f"'{key}' must be an object of schemas, got {a_json_type(value)}"
            for name, sub in value.items():
                if key == "patternProperties" and _regex_problem(name) is not None:
                    return f"'patternProperties' key {name!r:.80} is not a regex: {_regex_problem(name)}"
                visit(sub, _join(path, f"{key}.{name}"))
    for key in _SCHEMAS:
        if key in node:
            visit(node[key], _join(path, key))
    for key in _SCHEMA_LISTS:
        if key in node:
            value = node[key]
            if not isinstance(value, list) or not value:
                return f"'{key}' must be a non-empty array of schemas, got {_shown(value)}"
            for index, sub in enumerate(value):
                visit(sub, _join(path, f"{key}.{index}"))
    if "items" in node:
        items = node["items"]
        if isinstance(items, list):  # draft-04..2019 tuple form
            for index, sub in enumerate(items):
                visit(sub, _join(path, f"items.{index}"))
        else:
            visit(items, _join(path, "items"))
    return (
        _value_problem(node)
        or _dependencies_problem(node, path, visit)
        or next(
            (f"'{key}' is not supported by the mock" for key in _UNCHECKED if _restricts(node, key)), None
        )
    )


def _value_problem(node: dict[str, Any]) -> str | None:
    """A malformed non-schema keyword: a type name, a count, a bound, a list of names, a regex."""
    if "type" in node:
        kinds = node["type"]
        listed = kinds if isinstance(kinds, list) else [kinds]
        if not listed or not all(isinstance(kind, str) and kind in JSON_TYPES for kind in listed):
            names = ", ".join(JSON_TYPES)
            return f"'type' must be one of {names} or a non-empty array of them, got {_shown(kinds)}"
    for key in _COUNTS:
        if key in node:
            value = node[key]
            number = number_of(value)
            if number is None or number < 0 or not float(number).is_integer():
                return f"'{key}' must be a whole number >= 0, got {_shown(value)}"
    for key in _BOUNDS:
        if key in node and number_of(node[key]) is None:
            return f"'{key}' must be a finite number, got {_shown(node[key])}"
    for key in _EXCLUSIVE:
        if key in node and not isinstance(node[key], bool) and number_of(node[key]) is None:
            return f"'{key}' must be a finite number (or, draft-4 style, a boolean), got {_shown(node[key])}"
    if "multipleOf" in node:
        multiple = number_of(node["multipleOf"])
        if multiple is None or multiple <= 0:
            return f"'multipleOf' must be a number > 0, got {_shown(node['multipleOf'])}"
    if "required" in node and not _strings(node["required"]):
        return f"'required' must be an array of property names (strings), got {_shown(node['required'])}"
    if "enum" in node and not isinstance(node["enum"], list):
        return f"'enum' must be an array of the allowed values, got {_shown(node['enum'])}"
    if "uniqueItems" in node and not isinstance(node["uniqueItems"], bool):
        return f"'uniqueItems' must be true or false, got {_shown(node['uniqueItems'])}"
    for key in ("format", "$ref"):
        if key in node and not isinstance(node[key], str):
            return f"'{key}' must be a string, got {_shown(node[key])}"
    if "pattern" in node:
        pattern = node["pattern"]
        if not isinstance(pattern, str):
            return f"'pattern' must be a string holding a regex, got {_shown(pattern)}"
        problem = _regex_problem(pattern)
        if problem is not None:
            return f"'pattern' {pattern!r:.80} is not a regex: {problem}"
    return None


def _dependencies_problem(node: dict[str, Any], path: str, visit: Callable[[Any, str], None]) -> str | None:
    if "dependentRequired" in node:
        value = node["dependentRequired"]
        if not isinstance(value, dict) or not all(_strings(names) for names in value.values()):
            return f"'dependentRequired' must map property names to arrays of names, got {_shown(value)}"
    if "dependencies" in node:
        value = node["dependencies"]
        if not isinstance(value, dict):
            return f"'dependencies' must be an object, got {a_json_type(value)}"
        for name, sub in value.items():
            if isinstance(sub, list):
                if not _strings(sub):
                    return f"'dependencies' of {name!r:.80} must be an array of names or a schema"
            else:
                visit(sub, _join(path, f"dependencies.{name}"))
    return None


def _restricts(node: dict[str, Any], key: str) -> bool:
    return key in node and node[key] not in (True, {})


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        return str(error)
    return None


def _shown(value: Any) -> str:
    """A value as a message quotes it: short JSON for a scalar, the type for an object or array."""
    if isinstance(value, dict | list):
        return a_json_type(value)
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
