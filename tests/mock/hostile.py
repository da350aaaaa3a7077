"""Hostile requests for the mock NIM: the worst schemas it answers, and strategies for nasty bodies.

Shared by ``test_hostile_requests.py`` (over a real socket: no 5xx, no hang, the server still
answering) and ``bench/bench_hostile.py`` (RSS and health latency while the worst of them run).

Bodies are rendered as raw JSON text, because the nastiest JSON is not what ``json.dumps`` writes:
nesting 100,000 levels deep, integer literals of 5,000 digits, ``1e400``, ``NaN``. Lone surrogates
come for free: ``json.dumps`` escapes a lone surrogate in a Python string as ``\\\\ud800``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "MODEL",
    "WORST",
    "Hostile",
    "Raw",
    "hostile_requests",
    "malformed_schemas",
    "render",
]

MODEL = "meta/llama-3.1-8b-instruct"
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Fill it in."}], **extra}


def _fan_out(levels: int, width: int) -> dict[str, Any]:
    """``$defs`` whose every level refers ``width`` times to the next: width**levels resolutions."""
    defs: dict[str, Any] = {
        f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * width} for i in range(levels)
    }
    defs[f"d{levels}"] = {"type": "string"}
    return {"$defs": defs, "$ref": "#/$defs/d0"}


WORST: dict[str, dict[str, Any]] = {
    # The requests of issue 12 that froze the server: each is now refused at once, naming the limit.
    "minLength 1e9": _chat(guided_json={"type": "string", "minLength": 10**9}),
    "minItems 1e9": _chat(guided_json={"type": "array", "minItems": 10**9}),
    "minProperties 1e9": _chat(guided_json={"type": "object", "minProperties": 10**9}),
    "pattern a{1e9}": _chat(guided_json={"type": "string", "pattern": "^a{1000000000}$"}),
    "minLength 1e9, max_tokens 16": _chat(guided_json={"type": "string", "minLength": 10**9}, max_tokens=16),
    # The most work a request can still cost: each runs to a limit before it is answered.
    "refs fanning out to the step limit": _chat(guided_json=_fan_out(14, 4)),
    "120,000 items, past the token limit": _chat(
        guided_json={"type": "array", "minItems": 120_000, "items": {"type": "integer"}}
    ),
    "a 262,000-character string, streamed": _chat(
        guided_json={"type": "string", "minLength": 262_000}, stream=True
    ),
    "a 262,000-character pattern": _chat(guided_json={"type": "string", "pattern": "^(a{1000}){262}$"}),
    "6,000 properties": _chat(guided_json={"type": "object", "minProperties": 6_000}),
}
"""The worst schemas of the battery, by what they ask for."""

_SLOW = ("refs fanning out to the step limit", "120,000 items, past the token limit")
"""Seconds of work each: run once in the named tests and the bench, not in every generated example."""
_QUICK_WORST = [request["guided_json"] for name, request in WORST.items() if name not in _SLOW]


@dataclass(frozen=True)
class Raw:
    """JSON text put into a body as is: what ``json.dumps`` cannot or will not write."""

    text: str


def render(value: Any) -> bytes:
    """``value`` as JSON bytes (lone surrogates escaped), each :class:`Raw` written as its text."""
    raws: list[str] = []

    def mark(item: Any) -> Any:
        if isinstance(item, Raw):
            raws.append(item.text)
            return f"\0raw{len(raws) - 1}\0"
        if isinstance(item, dict):
            return {key: mark(sub) for key, sub in item.items()}
        if isinstance(item, list):
            return [mark(sub) for sub in item]
        return item

    text = json.dumps(mark(value))
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\0raw{index}\0"), raw, 1)
    return text.encode("utf-8")


@dataclass(frozen=True)
class Hostile:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


# -- values ----------------------------------------------------------------------------------------

_ODD_TEXT = st.sampled_from(
    ["\ud800", "a\udfffb", "\udc00\ud800", "\x00", "a\x00b", "\ud83d\ude00", "\u2028", "\\", '"', "é" * 50]
)
_texts = st.one_of(st.text(max_size=20), _ODD_TEXT, st.integers(0, 3).map(lambda n: "x" * 10 ** (n + 1)))
_deep = st.sampled_from([129, 600, 999, 1500, 100_000]).flatmap(
    lambda depth: st.sampled_from(
        [
            Raw("[" * depth + "]" * depth),
            Raw('{"a":' * depth + "1" + "}" * depth),
            Raw("[" * depth + "]" * (depth - 1)),  # unbalanced
        ]
    )
)
_numbers = st.one_of(
    st.sampled_from([Raw("1" * 5000), Raw("-" + "9" * 4400), Raw("1e400"), Raw("-1e400"), Raw("NaN")]),
    st.sampled_from([Raw("Infinity"), Raw("-0"), Raw("1e-400"), Raw("0.0000000000000000000001")]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([10**9, 1e9, 2**31, -1, 1e300, 1e-300, 1.7976931348623157e308]),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _texts)
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_texts, children, max_size=4),
    max_leaves=10,
)

_KEYWORDS = (
    "type",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "items",
    "prefixItems",
    "additionalItems",
    "contains",
    "minContains",
    "maxContains",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "$ref",
    "$defs",
    "definitions",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "unevaluatedProperties",
)
_keyword_values = st.one_of(
    _scalars,
    st.sampled_from(["object", "array", "string", "integer", "number", "boolean", "null", "str"]),
    st.sampled_from(["^a{1000000000}$", "(", "^(a+)+$", "[a-", "\\p{L}", "^[A-Z]{3}$", "(?=x)", "a{5,2}"]),
    st.sampled_from(["#", "#/$defs/a", "#/nowhere", "https://x/s.json", "#/properties/a"]),
    st.lists(st.sampled_from(["a", "b", 1, None]), max_size=3),
)
malformed_schemas: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.booleans(), st.dictionaries(st.sampled_from(_KEYWORDS), _keyword_values, max_size=4)),
    lambda children: st.one_of(
        st.dictionaries(st.sampled_from(_KEYWORDS), children | _keyword_values, max_size=5),
        st.dictionaries(st.sampled_from(["a", "b", "c", ""]), children, max_size=3).map(
            lambda properties: {"type": "object", "properties": properties, "required": list(properties)}
        ),
        st.lists(children, min_size=0, max_size=3).map(lambda branches: {"anyOf": branches}),
    ),
    max_leaves=12,
)
"""Schemas of every shape JSON allows, most of them malformed, many impossible or oversized."""

_nasty = st.one_of(_values, _deep, malformed_schemas, st.sampled_from(_QUICK_WORST))

# -- requests --------------------------------------------------------------------------------------

_SCHEMA_SLOTS = (
    ("guided_json",),
    ("response_format", "json_schema", "schema"),
    ("nvext", "guided_json"),
    ("tools", 0, "function", "parameters"),
)
_FIELDS = (
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stream",
    "stream_options",
    "stop",
    "temperature",
    "tools",
    "tool_choice",
    "response_format",
    "guided_json",
    "guided_choice",
    "guided_regex",
    "nvext",
    "prompt",
    "seed",
)
_ODD_CONTENT_TYPES = ("application/json; charset=utf-8", "text/plain", "", "application/jsonx")
_BAD_FAULTS = (
    "nonsense",
    ";;",
    "latency;ms=abc",
    "cut;after=x",
    "429;retry_after=",
    "stream_error;layout=xml",
)


def _put(body: dict[str, Any], slot: tuple[str | int, ...], value: Any) -> None:
    """Set ``body[slot...] = value``, making (or replacing) the containers on the way: a list where
    the next key is a position, an object where it is a name."""
    node: Any = body
    for key, following in itertools.pairwise(slot):
        kind = list if isinstance(following, int) else dict
        child = _child(node, key)
        if not isinstance(child, kind):
            child = kind()
            _set(node, key, child)
        node = child
    _set(node, slot[-1], value)


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, list):
        return node[key] if isinstance(key, int) and key < len(node) else None
    return node.get(key)


def _set(node: Any, key: str | int, value: Any) -> None:
    if isinstance(node, list):
        assert isinstance(key, int)
        node.extend({} for _ in range(key + 1 - len(node)))
    node[key] = value


@st.composite
def hostile_requests(draw: st.DrawFn) -> Hostile:
    """A request with something wrong in its body, headers, path or method, or several things."""
    route = draw(st.sampled_from([CHAT, CHAT, CHAT, COMPLETIONS]))
    body: dict[str, Any] = (
        _chat() if route == CHAT else {"model": MODEL, "prompt": "Once upon a time", "max_tokens": 16}
    )
    if draw(st.booleans()):
        body["max_tokens"] = draw(st.sampled_from([1, 16, 200]))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["field", "schema", "schema", "schema", "message", "key"]))
        if where == "field":
            _put(body, (draw(st.sampled_from(_FIELDS)),), draw(_nasty))
        elif where == "schema":
            slot = draw(st.sampled_from(_SCHEMA_SLOTS))
            if slot[0] == "tools":
                _put(body, ("tools", 0, "type"), "function")
                _put(body, ("tools", 0, "function", "name"), draw(_texts))
                body["tool_choice"] = draw(st.sampled_from(["required", "auto", None]))
            elif slot[0] == "response_format":
                _put(body, ("response_format", "type"), "json_schema")
            _put(body, slot, draw(malformed_schemas | st.sampled_from(_QUICK_WORST)))
        elif where == "message":
            field_ = draw(st.sampled_from(["content", "role", "tool_calls", "name"]))
            _put(body, ("messages", 0, field_), draw(_nasty))
        else:
            body[draw(_texts)] = draw(_nasty)
    content = render(body)
    # Hypothesis favours the ends of a range, so the rarer cases sit in its middle.
    spoil = draw(st.integers(0, 99))
    if spoil in range(40, 50):
        content = content[: draw(st.integers(0, max(len(content) - 1, 0)))]
    elif spoil in range(50, 55):
        content = draw(st.binary(max_size=64))
    headers = {"content-type": "application/json"}
    if draw(st.integers(0, 99)) in range(40, 50):
        headers["content-type"] = draw(st.sampled_from(_ODD_CONTENT_TYPES))
    if draw(st.integers(0, 99)) in range(40, 45):
        headers["x-nim-mock-fault"] = draw(st.sampled_from(_BAD_FAULTS))
    headers = {name: value for name, value in headers.items() if value}
    elsewhere = [("GET", route), ("PUT", "/v1/models"), ("PROPFIND", "/v1/x"), ("POST", "/v1/%00")]
    method, path = ("POST", route)
    if draw(st.integers(0, 99)) in range(40, 50):
        method, path = draw(st.sampled_from([*elsewhere, ("POST", "/v1/a/%C3%A9")]))
    return Hostile(method, path, headers, content)
