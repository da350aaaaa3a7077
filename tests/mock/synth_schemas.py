"""Hypothesis strategies for JSON schemas the synthesizer must satisfy (satisfiable by construction)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

names = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True)
FORMATS = ("date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname")
PATTERNS = (r"^[A-Z]{3}-\d{2}$", r"^(red|green|blue)$", r"[a-f0-9]{8}", r"^\w+@\w+\.com$", r"^v\d+(\.\d+)?$")


@st.composite
def strings(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["plain", "format", "pattern"]))
    if kind == "format":
        return {"type": "string", "format": draw(st.sampled_from(FORMATS))}
    if kind == "pattern":
        return {"type": "string", "pattern": draw(st.sampled_from(PATTERNS))}
    schema: dict[str, Any] = {"type": "string"}
    low = draw(st.none() | st.integers(0, 20))
    if low is not None:
        schema["minLength"] = low
    high = draw(st.none() | st.integers(max(low or 0, 1), 30))
    if high is not None:
        schema["maxLength"] = high
    return schema


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: dict[str, Any] = {"type": kind}
    low = draw(st.none() | st.integers(-1000, 1000))
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from([2, 5, 10]))
    else:
        high = draw(st.none() | st.integers((low or 0) + 2, 2000))
        if high is not None:
            schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    return schema


scalars = st.one_of(
    strings(),
    numbers(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(st.text(max_size=5) | st.integers(), min_size=1, max_size=4, unique=True).map(
        lambda e: {"enum": e}
    ),
    st.integers().map(lambda v: {"const": v}),
)


def _object(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(names, children, min_size=0, max_size=4))
        required = [k for k in properties if draw(st.booleans())]
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    return build()


def _array(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        return {
            "type": "array",
            "items": draw(children),
            "minItems": low,
            "maxItems": low + draw(st.integers(0, 3)),
        }

    return build()


def _combined(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    distinct = st.sampled_from(
        [
            [{"type": "string"}, {"type": "integer"}],
            [
                {"type": "null"},
                {"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"]},
            ],
            [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}],
        ]
    )
    return st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda b: {"anyOf": b}),
        distinct.map(lambda b: {"oneOf": b}),
        st.tuples(_object(children), _object(children)).map(_all_of),
        children.map(lambda c: {"type": ["null", "string"]} if "type" not in c else c),
    )


def _all_of(parts: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """Two open object parts with their own property names: satisfiable together by construction.

    (A closed part beside another part's required keys, or one key typed two ways, is not.)
    """
    first, second = ({k: v for k, v in part.items() if k != "additionalProperties"} for part in parts)
    second["properties"] = {f"and_{k}": v for k, v in second["properties"].items()}
    second["required"] = [f"and_{k}" for k in second["required"]]
    return {"allOf": [first, second]}


schemas = st.recursive(scalars, lambda c: _object(c) | _array(c) | _combined(c), max_leaves=12)


@st.composite
def with_refs(draw: st.DrawFn) -> dict[str, Any]:
    """A top-level object whose properties point at ``$defs`` entries by ``$ref``."""
    defs = draw(st.dictionaries(names, schemas, min_size=1, max_size=3))
    properties = {f"p_{name}": {"$ref": f"#/$defs/{name}"} for name in defs}
    return {"type": "object", "properties": properties, "required": list(properties), "$defs": defs}


tool_schemas = st.one_of(_object(schemas), with_refs())
