"""Tool-call arguments drawn from the conversation, so an agent's tool gets what its user asked for.

A model reads "What is magic_function(3)?" and calls ``magic_function`` with ``{"input": 3}``; a
stand-in that sends a schema-valid ``-999`` instead breaks every test that checks the value. The
last user message (its first 20,000 characters) is read for values, and each of the tool's
top-level properties takes the first one that fits it, in this order:

1. a value the text gives that property by name: ``city: Paris``, ``input=3``, ``unit is celsius``;
2. the tool written as a call: ``magic_function(3)``, ``f(a=1, b="x")`` (positional values fill the
   properties in the schema's order);
3. by the property's type: an ``enum`` member the text mentions; for numbers, the numbers in the
   text; for strings, the quoted strings (``'...'``, ``"..."``, ``“...”``, ``「...」``), then names
   (capitalised words such as ``San Francisco, CA``, not the first word of a sentence).

Each value drawn is used once; strings are not drawn for a property with a ``format`` (the
mock's check reads ``format`` as the annotation 2020-12 makes it, so a drawn "tomorrow" would pass
as a ``date``). Every property starts from the schema-valid instance ``schema``
makes, and a drawn value replaces it only when the whole object still validates, so the arguments
always fit the schema, whatever the conversation says. Trying values has a step budget of its own
(:data:`~nim_mock.synth.budget.MAX_SCHEMA_STEPS`): when a huge schema uses it up, the values
drawn so far stay and the rest keep their defaults, so drawing never costs a request its answer.

Several calls to one tool: when the tool is written as a call more than once
(``f(3) and f(5)``), or when it has one required property and the text lists values for it
joined by ``and``/``or`` (``the weather in Paris and London``), one set of arguments per value
(at most :data:`MAX_PARALLEL_CALLS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final

from nim_mock.synth.budget import MAX_CONTENT_CHARS, Budget, SchemaUnsupported
from nim_mock.synth.keywords import resolve_ref
from nim_mock.synth.schema import instance_for
from nim_mock.synth.validate import violation

__all__ = ["MAX_PARALLEL_CALLS", "arguments_for", "first_mention"]

MAX_PARALLEL_CALLS: Final = 8
"""Calls one answer makes to one tool from a list of values: beyond this a list reads as data."""
_MAX_CANDIDATES: Final = 32
"""Values of each kind read from the text: each is tried against the schema, which costs steps."""
_MAX_MATCHES: Final = 4 * _MAX_CANDIDATES
"""Matches of one kind looked at (some are passed over: inside quotes, opening a sentence)."""
_MAX_TEXT_CHARS: Final = 20_000
"""How much of the message is read for values (each property searches it for its name)."""

_QUOTED: Final = re.compile(
    r"(?<![\w'\"])'([^'\n]{1,200})'(?!\w)|(?<!\w)\"([^\"\n]{1,200})\"|“([^”\n]{1,200})”|‘([^’\n]{1,200})’"
    r"|「([^」\n]{1,200})」|『([^』\n]{1,200})』"
)
_NUMBER: Final = re.compile(r"(?<![\w.\-])-?\d{1,15}(?:\.\d{1,15})?(?![\w.]*\w)")
_NAME: Final = re.compile(r"\b[A-Z][\w'’.\-]*(?:[ \t]+[A-Z][\w'’.\-]*)*(?:,[ \t]*[A-Z]{2}\b)?")
_SENTENCE_START: Final = re.compile(r"(?:^\s*|[.!?]\s+|\n\s*)$")
"""Searched in the few characters before a capital (``^`` matches only at the text's real start)."""
_LIST_GAP: Final = re.compile(r"\s*(?:,\s*(?:and|or)?|and|or|&)\s*", re.IGNORECASE)
_WORD_VALUE: Final = r"(?:'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"|-?\d[\d.]*|[^\s,;.!?()]+)"


@dataclass(frozen=True, slots=True)
class _Value:
    value: Any
    start: int
    end: int


@dataclass(slots=True)
class _Text:
    """The values one message offers, by kind, each with where it stands in the text."""

    text: str
    quoted: list[_Value] = field(default_factory=list)
    numbers: list[_Value] = field(default_factory=list)
    names: list[_Value] = field(default_factory=list)

    @classmethod
    def read(cls, text: str) -> _Text:
        read = cls(text)
        for found in _QUOTED.finditer(text):
            inner = next(group for group in found.groups() if group is not None)
            read.quoted.append(_Value(inner, found.start(), found.end()))
            if len(read.quoted) >= _MAX_CANDIDATES:
                break
        quoted_spans = [(v.start, v.end) for v in read.quoted]
        for found in islice(_NUMBER.finditer(text), _MAX_MATCHES):
            if len(read.numbers) >= _MAX_CANDIDATES:
                break
            if not _inside(found.start(), quoted_spans):
                read.numbers.append(_Value(_number(found.group()), found.start(), found.end()))
        for found in islice(_NAME.finditer(text), _MAX_MATCHES):
            if len(read.names) >= _MAX_CANDIDATES:
                break
            start, name = found.start(), found.group().rstrip(".")
            if _inside(start, quoted_spans):
                continue
            if _opens_a_sentence(text, start):  # "What is ...": a capital that only opens a sentence
                first, _, rest = name.partition(" ")
                if not rest:
                    continue
                start, name = start + len(first) + 1, rest
            read.names.append(_Value(name, start, start + len(name)))
        return read


def _opens_a_sentence(text: str, start: int) -> bool:
    """Whether ``start`` follows the text's start or a sentence's end (read from the few characters
    before it, so that many names cost no more than one pass)."""
    return _SENTENCE_START.search(text, max(0, start - 8), start) is not None


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def arguments_for(tool_name: str, schema: Any, text: str, budget: Budget) -> list[Any]:
    """The arguments of each call to ``tool_name`` that ``text`` asks for: one set, or one per
    listed value; every set valid under ``schema`` (the defaults where the text offers nothing)."""
    base = instance_for(schema, name=tool_name, budget=budget)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if budget.spent or not isinstance(base, dict) or not isinstance(properties, dict) or not text:
        return [base]
    text = text[:_MAX_TEXT_CHARS]
    read = _Text.read(text)
    trials = Budget(MAX_CONTENT_CHARS, prefix_only=False)
    calls = _written_calls(tool_name, text)
    if len(calls) > 1:
        return [_fill(base, schema, properties, read, call, trials) for call in calls[:MAX_PARALLEL_CALLS]]
    one = _fill(base, schema, properties, read, calls[0] if calls else None, trials)
    listed = _listed_values(schema, properties, read)
    if len(listed) < 2 or calls:
        return [one]
    name = listed[0][0]
    sets = [{**one, name: value} for _, value in listed[:MAX_PARALLEL_CALLS]]
    if all(_fits(each, schema, trials) for each in sets):
        return sets
    return [one]


def _has_format(spec: Any, root: Any, depth: int = 0) -> bool:
    """Whether a ``format`` appears in ``spec``, in a branch of it or where its ``$ref`` points,
    down to a few levels (deeper counts as having one: drawing is then left to the defaults)."""
    if depth > 4:
        return True
    if isinstance(spec, list):
        return any(_has_format(item, root, depth + 1) for item in spec)
    if not isinstance(spec, dict):
        return False
    if "format" in spec:
        return True
    if "$ref" in spec:
        try:
            if _has_format(resolve_ref(root, spec["$ref"]), root, depth + 1):
                return True
        except SchemaUnsupported:
            return True
    parts = (value for value in spec.values() if isinstance(value, dict | list))
    return any(_has_format(part, root, depth + 1) for part in parts)


def _fits(value: Any, schema: Any, trials: Budget, *, root: Any = None) -> bool:
    """Whether ``value`` validates under ``schema`` (a part of ``root``, the whole by default); a
    value whose check runs out of steps does not."""
    try:
        return violation(value, schema, root=schema if root is None else root, budget=trials) is None
    except SchemaUnsupported:
        return False


def _fill(
    base: dict[str, Any],
    schema: dict[str, Any],
    properties: dict[str, Any],
    read: _Text,
    call: tuple[list[Any], dict[str, Any]] | None,
    trials: Budget,
) -> dict[str, Any]:
    arguments = dict(base)
    used: set[int] = set()
    positional, keywords = call if call is not None else ([], {})
    for position, (name, spec) in enumerate(properties.items()):
        if name not in arguments and name not in keywords and first_mention(name, read.text) is None:
            continue  # an optional property the defaults left out and the text does not mention
        offered: list[tuple[Any, int | None]] = []
        if name in keywords:
            offered.append((keywords[name], None))
        elif call is not None and position < len(positional):
            offered.append((positional[position], None))
        offered.extend((value, None) for value in _given_by_name(name, read.text))
        offered.extend(_by_kind(spec, read, used))
        formatted = _has_format(spec, schema)
        for value, slot in offered:
            if trials.steps <= 0:
                return arguments  # out of steps: what is drawn so far, defaults for the rest
            if formatted and isinstance(value, str):
                continue  # ``format`` goes unchecked here (an annotation): the made value keeps it
            trial = {**arguments, name: value}
            # the property's own schema first: a cheap no for most values of the wrong kind
            if _fits(value, spec, trials, root=schema) and _fits(trial, schema, trials):
                arguments = trial
                if slot is not None:
                    used.add(slot)
                break
    return arguments


def first_mention(name: str, text: str) -> int | None:
    """Where ``text`` first names ``name`` as a whole word (``get_weather`` or ``get weather``, any
    case), or ``None``: ``magic_function`` is not named inside ``magic_function_no_args``."""
    label = rf"(?:{re.escape(name)}|{re.escape(name.replace('_', ' '))})"
    found = re.search(rf"(?<!\w){label}(?!\w)", text, re.IGNORECASE)
    return found.start() if found is not None else None


def _given_by_name(name: str, text: str) -> Iterator[Any]:
    """Values written next to the property's name: ``city: Paris``, ``input = 3``, ``unit is C``."""
    label = rf"(?:{re.escape(name)}|{re.escape(name.replace('_', ' '))})"
    # a short name ("a", "x") reads as a label only with a separator: "x = 3", not "a cat"
    separator = r"(?:=|:|\bis\b|\bof\b|\bas\b|\bto\b)" + ("" if len(name) < 3 else "?")
    pattern = rf"(?<!\w){label}(?!\w)\s*{separator}\s*({_WORD_VALUE})"
    for found in re.finditer(pattern, text, re.IGNORECASE):
        yield _literal(found.group(1))


def _literal(text: str) -> Any:
    """A value as written: a quoted string without its quotes, a JSON number or boolean, else text."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float | bool) else text


def _kinds(spec: Any) -> set[str]:
    """The JSON types a property takes (``Optional[int]``'s ``anyOf`` included)."""
    if not isinstance(spec, dict):
        return set()
    kinds: set[str] = set()
    declared = spec.get("type")
    if isinstance(declared, str):
        kinds.add(declared)
    elif isinstance(declared, list):
        kinds.update(t for t in declared if isinstance(t, str))
    for key in ("anyOf", "oneOf"):
        for branch in spec.get(key, []) if isinstance(spec.get(key), list) else []:
            kinds |= _kinds(branch)
    if not kinds and isinstance(spec.get("enum"), list):
        kinds.update("string" for member in spec["enum"] if isinstance(member, str))
    return kinds


def _by_kind(spec: Any, read: _Text, used: set[int]) -> Iterator[tuple[Any, int | None]]:
    """Unused values of the property's type, each with its place in the text (``used`` once taken;
    no two values of the text start at one place)."""
    kinds = _kinds(spec)
    enum = spec.get("enum") if isinstance(spec, dict) else None
    if isinstance(enum, list):
        lowered = read.text.lower()
        yield from ((m, None) for m in enum if isinstance(m, str) and m and m.lower() in lowered)
        return
    if kinds & {"integer", "number"}:
        for value in read.numbers:
            if value.start not in used:
                yield value.value, value.start
    if "string" in kinds:
        for value in [*read.quoted, *read.names]:
            if value.start not in used:
                yield value.value, value.start


def _listed_values(schema: dict[str, Any], properties: dict[str, Any], read: _Text) -> list[tuple[str, Any]]:
    """(property, value) for each value of a list like ``Paris and London`` when the tool has one
    required property of that kind; empty when the text lists nothing for it."""
    required = schema.get("required")
    if not isinstance(required, list) or len(required) != 1 or required[0] not in properties:
        return []
    name = required[0]
    kinds = _kinds(properties[name])
    pool = read.quoted or read.names if "string" in kinds else []
    if not pool and kinds & {"integer", "number"}:
        pool = read.numbers
    best: list[_Value] = []
    run: list[_Value] = []
    for value in sorted(pool, key=lambda v: v.start):
        if run and _LIST_GAP.fullmatch(read.text[run[-1].end : value.start]):
            run.append(value)
        else:
            run = [value]
        if len(run) > len(best):
            best = list(run)
    if len(best) < 2 or not _joined_by_a_word(read.text[best[0].start : best[-1].end]):
        return []
    return [(name, value.value) for value in best]


def _joined_by_a_word(span: str) -> bool:
    """``Paris and London`` is a list; ``San Francisco, CA``-like commas alone are not."""
    return re.search(r"\b(?:and|or)\b|&", span, re.IGNORECASE) is not None


def _written_calls(tool_name: str, text: str) -> list[tuple[list[Any], dict[str, Any]]]:
    """Each ``tool_name(...)`` in ``text``: its positional and keyword values."""
    calls = []
    for found in re.finditer(rf"(?<!\w){re.escape(tool_name)}\s*\(([^()]{{0,400}})\)", text):
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        for part in _split_arguments(found.group(1)):
            key, equals, value = part.partition("=")
            if equals and re.fullmatch(r"\s*\w+\s*", key):
                keywords[key.strip()] = _literal(value.strip())
            elif part.strip():
                positional.append(_literal(part.strip()))
        calls.append((positional, keywords))
    return calls


def _split_arguments(inner: str) -> list[str]:
    """``3, "a, b", x=1`` into its three parts: commas inside quotes do not split."""
    return [m.group() for m in re.finditer(r"(?:'[^']*'|\"[^\"]*\"|[^,'\"])+", inner)]
