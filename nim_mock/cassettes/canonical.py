"""Canonical JSON for matching: ignore paths, a hashable key, and a leaf-by-leaf diff.

Two request bodies match when they are the same JSON value once the ignored paths are removed. Key
order and whitespace never matter (the parsed value has neither). Numbers compare by value, as
JSON has a single number type: ``0`` and ``0.0`` are one temperature (pydantic clients send ``0.0``
where a hand-written request says ``0``). Booleans stay apart from numbers even though Python says
``1 == True``. The canonical text (``json.dumps(sort_keys=True)`` after integral floats are written as
integers) is cheap to hash, which is what lets the matcher index 500 cassettes by body.

Paths here use the dotted notation of ``match.ignore`` (``messages.0.content``), the one users type,
not the bracketed notation of cassette errors.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

__all__ = [
    "ABSENT",
    "IgnorePath",
    "a_json_type",
    "body_key",
    "canonical_text",
    "describe_value",
    "diff_leaves",
    "flatten",
    "json_type",
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
    text = _CANONICAL.encode(body)
    if _MAYBE_INTEGRAL_FLOAT.search(text) is None:
        return text
    return _CANONICAL.encode(_integral_floats_as_ints(body))


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
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
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
