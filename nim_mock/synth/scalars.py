"""Leaf values for the schema instance generator: strings, integers and numbers within their limits.

Split from ``schema`` (which walks objects, arrays and combinators) because these rules
change for their own reasons: a new ``format``, a bound that needs care. Strings are built from
the property name (``"city"``), so a synthesized answer reads plausibly; ``format`` gives a fixed
valid example; ``pattern`` a string the regex matches; numbers start at a bound (or 1) and honour
exclusive bounds and ``multipleOf``. ``variant`` makes the n-th of several values differ, for
``uniqueItems``. A contradiction raises :class:`SchemaUnsupported` naming the keywords.
"""

from __future__ import annotations

import math
from typing import Any

from nim_mock.synth.regex import RegexUnsupported, string_matching

__all__ = ["SchemaUnsupported", "integer_for", "number_for", "string_for"]


class SchemaUnsupported(ValueError):
    """A schema the mock cannot produce an instance of; the message says which part and why."""


_FORMATS: dict[str, str] = {
    "date-time": "2025-01-01T12:00:00Z",
    "date": "2025-01-01",
    "time": "12:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/resource",
    "iri": "https://example.com/resource",
    "uri-reference": "https://example.com/resource",
    "iri-reference": "https://example.com/resource",
    "url": "https://example.com/resource",
    "uri-template": "https://example.com/{id}",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "json-pointer": "/value",
    "relative-json-pointer": "0/value",
    "regex": "^value$",
}
_VARIED_FORMATS: dict[str, str] = {
    "email": "user{n}@example.com",
    "idn-email": "user{n}@example.com",
    "hostname": "host{n}.example.com",
    "idn-hostname": "host{n}.example.com",
    "uri": "https://example.com/resource/{n}",
    "iri": "https://example.com/resource/{n}",
    "uri-reference": "https://example.com/resource/{n}",
    "iri-reference": "https://example.com/resource/{n}",
    "url": "https://example.com/resource/{n}",
    "date": "2025-01-{d:02d}",
    "date-time": "2025-01-{d:02d}T12:00:00Z",
    "uuid": "123e4567-e89b-42d3-a456-{n:012d}",
    "ipv4": "192.0.2.{b}",
}


def string_for(spec: dict[str, Any], name: str, variant: int) -> str:
    fmt = spec.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        if variant and fmt in _VARIED_FORMATS:
            return _VARIED_FORMATS[fmt].format(n=variant, d=1 + variant % 28, b=1 + variant % 250)
        return _FORMATS[fmt]
    pattern = spec.get("pattern")
    if isinstance(pattern, str):
        try:
            text = string_matching(pattern)
        except RegexUnsupported as error:
            raise SchemaUnsupported(f"'pattern' of {name!r}: {error}") from None
        return text  # one string per pattern: variants would have to stay inside the language
    text = name.replace("_", " ").strip() or "value"
    if variant:
        text = f"{text} {variant}"
    low = spec.get("minLength", 0)
    high = spec.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text = (text + " " + "x" * low)[:low] if text else "x" * low
    if isinstance(high, int) and len(text) > high:
        text = (
            text[:high] if not variant else (text[: max(high - len(str(variant)), 0)] + str(variant))[-high:]
        )
    return text


def _bounds(spec: dict[str, Any], step: float) -> tuple[float | None, float | None]:
    low = _num(spec.get("minimum"))
    high = _num(spec.get("maximum"))
    ex_low = _num(spec.get("exclusiveMinimum"))
    ex_high = _num(spec.get("exclusiveMaximum"))
    if ex_low is not None and (low is None or ex_low >= low):
        low = ex_low + step
    if ex_high is not None and (high is None or ex_high <= high):
        high = ex_high - step
    return low, high


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def integer_for(spec: dict[str, Any], variant: int) -> int:
    low, high = _bounds(spec, 1)
    lo = math.ceil(low) if low is not None else None
    hi = math.floor(high) if high is not None else None
    start = lo if lo is not None else (min(hi, 1) if hi is not None else 1)
    value = start + variant
    if hi is not None and value > hi:
        value = hi if lo is None else lo + variant % max(hi - lo + 1, 1)
    multiple = _num(spec.get("multipleOf"))
    if multiple is not None and multiple > 0:
        if not float(multiple).is_integer():
            raise SchemaUnsupported(f"integer with a fractional multipleOf {multiple!r}")
        step = int(multiple)
        up = -(-value // step) * step
        value = up if hi is None or up <= hi else (value // step) * step
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise SchemaUnsupported(f"no integer fits minimum/maximum/multipleOf in {_short(spec)}")
    return value


def number_for(spec: dict[str, Any], variant: int) -> float | int:
    multiple = _num(spec.get("multipleOf"))
    if multiple is not None and multiple > 0 and float(multiple).is_integer():
        return integer_for(spec, variant)
    low, high = _bounds(spec, 0.0)
    exclusive = "exclusiveMinimum" in spec or "exclusiveMaximum" in spec
    if low is not None and high is not None:
        value: float = (low + high) / 2
    elif low is not None:
        value = low + (1 if exclusive else 0) + variant
    elif high is not None:
        value = high - (1 if exclusive else 0) - variant
    else:
        value = 1.5 + variant
    if multiple is not None and multiple > 0:
        count = math.ceil(value / multiple) if low is not None else math.floor(value / multiple)
        value = round(count * multiple, 12)
    if (low is not None and value < low) or (high is not None and value > high):
        raise SchemaUnsupported(f"no number fits minimum/maximum/multipleOf in {_short(spec)}")
    if (low is not None and value == low and "exclusiveMinimum" in spec) or (
        high is not None and value == high and "exclusiveMaximum" in spec
    ):
        raise SchemaUnsupported(f"no number fits the exclusive bounds in {_short(spec)}")
    return value


def _short(spec: dict[str, Any]) -> str:
    text = repr(spec)
    return text if len(text) <= 120 else text[:117] + "..."
