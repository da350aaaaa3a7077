"""Canonical JSON for matching: ignore paths, a hashable key, and a leaf-by-leaf diff.

Two request bodies match when they are the same JSON value once the ignored paths are removed. Key
order and whitespace never matter (the parsed value has neither). Numbers compare by value, as
JSON has a single number type: ``0`` and ``0.0`` are one temperature (pydantic clients send ``0.0``
where a hand-written request says ``0``). Booleans stay apart from numbers even though Python says
``1 == True``. The canonical text (``json.dumps(sort_keys=True)`` after integral floats are written as
integers) is cheap to hash, which is what lets the matcher index 500 cassettes by body.

Paths here use the dotted notation of ``match.ignore`` (``messages.0.content``), the one users type,
not the bracketed notation of cassette errors.

Depth. Anything ``json.loads`` returns can be rendered, however deep: the usual shallow body takes
the C encoder, and one too deep for Python's recursion limit (``json.loads`` reads ~1,000 levels,
more than the encoder can write back from inside a server) takes an explicit stack that writes the
same text, so a deep recorded body and the same body sent again still meet in the index.
:func:`json_depth` and :func:`lone_surrogate_at` walk a value the same way, for callers that must
refuse what they cannot carry further.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

__all__ = [
    "ABSENT",
    "MAX_JSON_DEPTH",
    "IgnorePath",
    "a_json_type",
    "body_key",
    "canonical_text",
    "describe_value",
    "diff_leaves",
    "flatten",
    "json_depth",
    "json_type",
    "lone_surrogate_at",
    "parse_ignore",
    "strip_ignored",
]

IgnorePath = tuple[str, ...]
"""An ignore path split at the dots: ``("messages", "*", "name")``."""


class _Absent:
    """Marks a leaf one side of a diff does not have (distinct from JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "absent"


ABSENT: Final = _Absent()


def parse_ignore(path: str) -> IgnorePath:
    """Split a dotted ignore path, refusing empty segments with a message that shows the path."""
    parts = tuple(path.split("."))
    if not path or any(part == "" for part in parts):
        raise ValueError(f"ignore path {path!r} has an empty segment; write it like 'messages.*.name'")
    return parts


def _segment_matches(segment: str, key: str) -> bool:
    return segment == "*" or segment == key


def _strip(value: Any, path: IgnorePath) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if _segment_matches(head, key):
                if not rest:
                    continue
                result[key] = _strip(item, rest)
            else:
                result[key] = item
        return result
    if isinstance(value, list):
        # Removing a list element would shift the others and make unrelated leaves differ; an
        # ignored element is replaced by a marker instead, so the indices still line up.
        items: list[Any] = []
        for index, item in enumerate(value):
            if _segment_matches(head, str(index)):
                items.append({"\u0000ignored": True} if not rest else _strip(item, rest))
            else:
                items.append(item)
        return items
    return value


_SERVER_DEFAULTS: Final[dict[str, Any]] = {"stream": False}
"""Top-level fields whose value only restates what every NIM assumes when the field is absent.

langchain-nvidia-ai-endpoints sends ``"stream": false`` on every non-streamed call while the openai
SDK and our client leave ``stream`` out; both mean the same request, so both must match one recording.
"""


def _restates_default(key: str, value: Any) -> bool:
    return key in _SERVER_DEFAULTS and _same(value, _SERVER_DEFAULTS[key])


def strip_ignored(body: Any, ignore: tuple[IgnorePath, ...]) -> Any:
    """``body`` as matching sees it: without the ignored paths and the defaults a client may restate.

    Returns a new value; ``body`` is left as it was.
    """
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if not _restates_default(key, value)}
    for path in ignore:
        body = _strip(body, path)
    return body


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    return value


_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
)
"""Built once: ``json.dumps`` with options builds a new encoder on every call."""

_MAYBE_INTEGRAL_FLOAT: Final = re.compile(r"\.0(?![0-9])|e\+")
"""What the JSON text of an integral float always contains: ``repr`` writes one as ``12.0`` or, from
1e16 up, as ``1e+16`` or ``1.5e+16``. Text without either holds no integral float (a string may
contain one of them too; that only costs the slower path)."""


def canonical_text(body: Any) -> str:
    """One string per JSON value: keys sorted, no whitespace, ``0.0`` written as ``0``, ``true`` kept.

    Rendered straight away first; only text that may hold an integral float is rendered again after
    the walk that turns those floats into ints (a request is matched by this text, so it is on the
    path of every request).
    """
    try:
        text = _CANONICAL.encode(body)
        if _MAYBE_INTEGRAL_FLOAT.search(text) is None:
            return text
        return _CANONICAL.encode(_integral_floats_as_ints(body))
    except RecursionError:
        return _compact_text(body, canonical=True)


def _scalar_text(value: Any, canonical: bool) -> str:
    if canonical and isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


class _Literal(str):
    """Punctuation already written out, told apart on the stack from a string value still to encode."""

    __slots__ = ()


def _compact_text(value: Any, *, canonical: bool) -> str:
    """Compact JSON of ``value`` at any depth, on an explicit stack: the very text ``json.dumps``
    writes with ``separators=(",", ":")`` (and, when ``canonical``, sorted keys and integral floats
    as integers), for values nested too deeply for the recursive encoder."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Literal):
            out.append(item)
        elif isinstance(item, dict) and item:
            pairs = sorted(item.items()) if canonical else list(item.items())
            stack.append(_Literal("}"))
            for index in range(len(pairs) - 1, -1, -1):
                key, sub = pairs[index]
                stack.append(sub)
                opener = "{" if index == 0 else ","
                stack.append(_Literal(opener + json.dumps(str(key), ensure_ascii=False) + ":"))
        elif isinstance(item, list | tuple) and item:
            stack.append(_Literal("]"))
            for index in range(len(item) - 1, -1, -1):
                stack.append(item[index])
                stack.append(_Literal("[" if index == 0 else ","))
        elif isinstance(item, dict):
            out.append("{}")
        elif isinstance(item, list | tuple):
            out.append("[]")
        else:
            out.append(_scalar_text(item, canonical))
    return "".join(out)


MAX_JSON_DEPTH: Final = 128
"""How deeply a request body the mock answers itself may nest (``{"a": [1]}`` is 2 levels).

Real requests stay far below it (a chat message with content parts is 4 levels, a tool's schema
rarely passes 20). The server refuses a deeper body with a 400 before it answers it itself, so
nothing it does next (a stand-in answer, a miss report) can run out of recursion on it; matching
a recording works at any depth."""


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests: 0 for a scalar, 1 for ``[]`` or ``{"a": 1}``, and so on."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            depth += 1
            stack.extend((sub, depth) for sub in item.values())
        elif isinstance(item, list):
            depth += 1
            stack.extend((sub, depth) for sub in item)
        deepest = max(deepest, depth)
    return deepest


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def lone_surrogate_at(value: Any) -> str | None:
    """The dotted path of the first string or key holding a lone surrogate (``"\\ud800"`` decodes to
    one, and UTF-8 cannot carry it), ``""`` for the whole value, or ``None`` when there is none.

    A key that holds one ends the path with that key; the path is written with the surrogate
    escaped (``\\udc00``), so it can itself be shown.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _has_lone_surrogate(item):
                return path
        elif isinstance(item, dict):
            children: list[tuple[Any, str]] = []
            for key, sub in item.items():
                where = f"{path}.{key}" if path else str(key)
                if _has_lone_surrogate(key):
                    return where.encode("utf-8", "backslashreplace").decode("utf-8")
                children.append((sub, where))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(sub, f"{path}.{i}" if path else str(i)) for i, sub in enumerate(item)]))
    return None


def body_key(body: Any, raw_body: bytes | None, ignore: tuple[IgnorePath, ...]) -> tuple[str, str | bytes]:
    """A hashable key for a request body: JSON canonically, a non-JSON body by its bytes."""
    if body is not None:
        return ("json", canonical_text(strip_ignored(body, ignore)))
    if raw_body:
        return ("raw", raw_body)
    return ("none", "")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of ``value`` by dotted path; empty objects and arrays count as leaves."""
    leaves: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict) and item:
            pairs = [(f"{path}.{key}" if path else str(key), sub) for key, sub in item.items()]
            stack.extend(reversed(pairs))  # popped in document order
        elif isinstance(item, list) and item:
            pairs = [(f"{path}.{index}" if path else str(index), sub) for index, sub in enumerate(item)]
            stack.extend(reversed(pairs))
        else:
            leaves[path] = item
    return leaves


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right) or (math.isnan(left) and math.isnan(right))
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)


def diff_leaves(recorded: dict[str, Any], sent: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, recorded, sent) for every leaf that differs, in recorded order then new leaves."""
    diffs: list[tuple[str, Any, Any]] = []
    for path, value in recorded.items():
        other = sent.get(path, ABSENT)
        if other is ABSENT and _is_empty_parent(path, value, sent):
            continue
        if other is ABSENT or not _same(value, other):
            diffs.append((path, value, other))
    diffs.extend(
        (path, ABSENT, value)
        for path, value in sent.items()
        if path not in recorded and not _is_empty_parent(path, value, recorded)
    )
    return diffs


def _is_empty_parent(path: str, value: Any, other: dict[str, Any]) -> bool:
    """An empty object/array whose path the other side fills: its new children already say it all."""
    if not isinstance(value, dict | list) or value:
        return False
    prefix = f"{path}." if path else ""  # the empty path is the whole body: any leaf fills it
    return any(key.startswith(prefix) for key in other)


def describe_value(value: Any, limit: int = 60) -> str:
    """A short human rendering: strings quoted, other JSON compact, ``absent`` for a missing leaf."""
    if value is ABSENT:
        return "absent"
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bytes):
        text = repr(value.decode("utf-8", errors="replace"))
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except RecursionError:
            text = _compact_text(value, canonical=False)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def json_type(value: Any) -> str:
    """The JSON type of a parsed value (``boolean``, never ``number``, for ``true``), as messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def a_json_type(value: Any) -> str:
    """``json_type`` for a sentence: ``null``, ``a number``, ``an object``."""
    kind = json_type(value)
    if kind == "null":
        return kind
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
