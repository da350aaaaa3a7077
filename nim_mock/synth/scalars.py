"""Leaf values for the schema instance generator: strings, integers and numbers within their limits.

Split from ``schema`` (which walks objects, arrays and combinators) because these rules
change for their own reasons: a new ``format``, a bound that needs care. Strings are built from
the property name (``"city"``), so a synthesized answer reads plausibly; ``format`` gives a fixed
valid example; ``pattern`` a string the regex matches; numbers start at a bound (or 1) and honour
exclusive bounds (numbers, or draft-4 booleans) and ``multipleOf``. ``variant`` makes the n-th of
several values differ, for ``uniqueItems``. A contradiction raises :class:`SchemaUnsupported`
naming the keywords, and so does a number no double can carry (bounds near 1e308, a
``multipleOf`` too fine for the bounds). Strings are charged to the answer's
:class:`~nim_mock.synth.budget.Budget` before they are built, so a ``minLength`` of a billion never
builds a billion characters.
"""

from __future__ import annotations

import math
from typing import Any

from nim_mock.synth.budget import Budget, SchemaUnsupported, too_long
from nim_mock.synth.keywords import count_of, number_of
from nim_mock.synth.regex import RegexTooLong, RegexUnsupported, string_matching
from nim_mock.synth.validate import is_multiple

__all__ = ["SchemaUnsupported", "integer_for", "number_for", "string_for"]


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


def string_for(spec: dict[str, Any], name: str, variant: int, budget: Budget) -> str:
    fmt = spec.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        if variant and fmt in _VARIED_FORMATS:
            text = _VARIED_FORMATS[fmt].format(n=variant, d=1 + variant % 28, b=1 + variant % 250)
        else:
            text = _FORMATS[fmt]
        return text[: budget.take(len(text) + 2, f"the string {name!r}")]
    pattern = spec.get("pattern")
    if isinstance(pattern, str):
        try:
            text = string_matching(
                pattern, max_length=max(budget.left - 2, 0), prefix_only=budget.prefix_only
            )
        except RegexTooLong:  # refused in the budget's words, naming the mock's limit
            raise too_long(f"'pattern' {pattern!r:.60} of {name!r}") from None
        except RegexUnsupported as error:
            raise SchemaUnsupported(f"'pattern' of {name!r}: {error}") from None
        budget.take(len(text) + 2, f"the string {name!r}")
        return text  # one string per pattern: variants would have to stay inside the language
    text = name.replace("_", " ").strip() or "value"
    if variant:
        text = f"{text} {variant}"
    low = count_of(spec, "minLength") or 0
    high = count_of(spec, "maxLength")
    if high is not None and low > high:
        raise SchemaUnsupported(f"'minLength' {low} is more than 'maxLength' {high} for {name!r}")
    length = max(low, len(text) if high is None else min(len(text), high))
    granted = budget.take(length + 2, f"'minLength' {low} of {name!r}") - 2
    if granted < length:  # a prefix budget ran out: the answer is cut within this string
        return (text + " " + "x" * granted)[: max(granted, 0)]
    if len(text) < low:
        text = (text + " " + "x" * low)[:low] if text else "x" * low
    if high is not None and len(text) > high:
        text = (
            text[:high] if not variant else (text[: max(high - len(str(variant)), 0)] + str(variant))[-high:]
        )
    return text


def _bounds(spec: dict[str, Any], step: float) -> tuple[float | None, float | None]:
    low = number_of(spec.get("minimum"))
    high = number_of(spec.get("maximum"))
    ex_low = spec.get("exclusiveMinimum")
    ex_high = spec.get("exclusiveMaximum")
    if ex_low is True and low is not None:  # draft-4: a flag on minimum
        ex_low, low = low, None
    if ex_high is True and high is not None:
        ex_high, high = high, None
    ex_low, ex_high = number_of(ex_low), number_of(ex_high)
    if ex_low is not None and (low is None or ex_low >= low):
        low = ex_low + step
    if ex_high is not None and (high is None or ex_high <= high):
        high = ex_high - step
    return low, high


def _exclusive(spec: dict[str, Any]) -> tuple[bool, bool]:
    """Whether the lower and the upper bound are exclusive, in either draft's spelling."""
    low, high = spec.get("exclusiveMinimum"), spec.get("exclusiveMaximum")
    return (low is not None and low is not False, high is not None and high is not False)


def integer_for(spec: dict[str, Any], variant: int) -> int:
    low, high = _bounds(spec, 1)
    lo = math.ceil(low) if low is not None else None
    hi = math.floor(high) if high is not None else None
    start = lo if lo is not None else (min(hi, 1) if hi is not None else 1)
    value = start + variant
    if hi is not None and value > hi:
        value = hi if lo is None else lo + variant % max(hi - lo + 1, 1)
    multiple = number_of(spec.get("multipleOf"))
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
    multiple = number_of(spec.get("multipleOf"))
    if multiple is not None and multiple > 0 and float(multiple).is_integer():
        return integer_for(spec, variant)
    low, high = _bounds(spec, 0.0)
    exclusive_low, exclusive_high = _exclusive(spec)
    exclusive = exclusive_low or exclusive_high
    if low is not None and high is not None:
        value: float = low / 2 + high / 2  # never past the largest double, as (low + high) / 2 can be
    elif low is not None:
        value = low + (1 if exclusive else 0) + variant
    elif high is not None:
        value = high - (1 if exclusive else 0) - variant
    else:
        value = 1.5 + variant
    if multiple is not None and multiple > 0:
        value = _multiple_near(value, multiple, low, high, spec)
    if not math.isfinite(value):
        raise SchemaUnsupported(f"no number a double can hold fits {_short(spec)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise SchemaUnsupported(f"no number fits minimum/maximum/multipleOf in {_short(spec)}")
    if (low is not None and value == low and exclusive_low) or (
        high is not None and value == high and exclusive_high
    ):
        raise SchemaUnsupported(f"no number fits the exclusive bounds in {_short(spec)}")
    return value


_MULTIPLE_TRIES = 16


def _multiple_near(
    value: float, multiple: float, low: float | None, high: float | None, spec: dict[str, Any]
) -> float:
    """The first multiple of ``multiple`` from ``value`` on (up when there is a lower bound, else
    down) that lies within the bounds and checks as a multiple.

    Float arithmetic makes ``3 * 0.1`` no multiple of ``0.1`` to a validator (its quotient is not
    whole), so a few neighbouring multiples are tried, each as computed and rounded to 12 places.
    """
    quotient = value / multiple
    if not math.isfinite(quotient):
        raise SchemaUnsupported(
            f"no number a double can hold is a multipleOf {multiple!r} within {_short(spec)}"
        )
    up = low is not None
    count = math.ceil(quotient) if up else math.floor(quotient)
    for step in range(_MULTIPLE_TRIES):
        exact = (count + step if up else count - step) * multiple
        for candidate in (round(exact, 12), exact):
            inside = (low is None or candidate >= low) and (high is None or candidate <= high)
            if inside and math.isfinite(candidate) and is_multiple(candidate, multiple):
                return candidate
    return round(count * multiple, 12)  # the bounds check that follows, or the validator, says why


def _short(spec: dict[str, Any]) -> str:
    text = repr(spec)
    return text if len(text) <= 120 else text[:117] + "..."
