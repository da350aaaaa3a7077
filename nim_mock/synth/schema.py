"""One deterministic JSON instance of a JSON schema, for synthesized tool calls and structured output.

A real NIM constrains decoding with the schema (xgrammar/outlines); the mock produces a value
that validates instead. Covered: ``type`` (single or list), ``properties``/``required``/
``additionalProperties``/``patternProperties``/``dependentRequired``/``min|maxProperties``,
``enum``, ``const``, ``items``/``prefixItems``/``min|maxItems``/``uniqueItems``/``contains``
(``minContains`` times), ``anyOf``/``oneOf``/``allOf``, ``$ref`` into ``$defs``/``definitions``
(JSON pointers from the root), string ``format`` (date-time, date, time, email, uri, uuid, ipv4,
ipv6, hostname...), ``min|maxLength``, ``pattern``, and numeric ``minimum``/``maximum`` (exclusive
too, draft-4 booleans included) and ``multipleOf``.

Choices are stable so the same request gives the same bytes: the first ``anyOf`` branch that is
not ``null`` (so ``Optional[X]`` yields an X), for ``oneOf`` the first branch whose value no other
branch accepts, the first ``enum`` member, and strings built from the property name.

Every value is then checked against the schema (``validate``): keywords the generator only
aims at (``not``, ``if``/``then``/``else``, ``propertyNames``...) and contradictions between
keywords are caught there, and two more attempts vary the value before the schema is given up.
A malformed schema (``keywords``), one that cannot be satisfied, one past the request's
:class:`~nim_mock.synth.budget.Budget`, or a ``$ref`` outside the document raises
:class:`SchemaUnsupported`, which the server turns into a 400 that says why.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from nim_mock.synth.budget import MAX_CONTENT_CHARS, Budget, SchemaUnsupported
from nim_mock.synth.keywords import count_of, resolve_ref, schema_problem
from nim_mock.synth.scalars import integer_for, number_for, string_for
from nim_mock.synth.validate import freeze, is_type, violation

__all__ = ["SchemaUnsupported", "instance_for"]

_MAX_DEPTH: Final = 32
_OPTIONAL_DEPTH: Final = 3
"""Optional properties are filled in down to this depth, so recursive schemas stay finite."""
_ATTEMPTS: Final = 3
"""Values tried (each a different ``variant``) before a schema whose check fails is given up."""
_ONLY: Final = "\0only"
"""Key of merged schemas: the property names every ``additionalProperties: false`` part allows."""
_TYPE_ORDER: Final = ("object", "array", "string", "integer", "number", "boolean", "null")


def instance_for(schema: Any, *, name: str = "value", budget: Budget | None = None) -> Any:
    """A value valid under ``schema``; ``name`` seeds strings (a property or tool name reads well).

    ``budget`` bounds the work (default: the mock's limits, raising past them). With a prefix
    budget that runs out the value is the start of one, cut where the budget ended, unchecked:
    the caller cuts the answer's text there anyway (see ``budget``).
    """
    problem = schema_problem(schema)
    if problem is not None:
        raise SchemaUnsupported(f"it is not a valid JSON schema: {problem}")
    budget = budget if budget is not None else Budget(MAX_CONTENT_CHARS, prefix_only=False)
    for variant in range(_ATTEMPTS):
        budget.restart()
        value = _Generator(schema, budget).value(schema, name, 0, variant)
        if budget.spent:
            return value
        problem = violation(value, schema, root=schema, budget=budget)
        if problem is None:
            return value
    raise SchemaUnsupported(f"no value the mock can make satisfies it ({problem})")


class _Generator:
    def __init__(self, root: Any, budget: Budget) -> None:
        self._root = root
        self._budget = budget
        self._sizes: dict[int, int] = {}

    # -- resolving ------------------------------------------------------------------------------

    def _resolve(self, schema: Any, depth: int) -> dict[str, Any]:
        """The schema with ``$ref`` and ``allOf`` folded in, as one plain dict."""
        self._budget.step()
        if depth > _MAX_DEPTH:
            raise SchemaUnsupported(f"schema nests or refers deeper than {_MAX_DEPTH} levels")
        if schema is True:
            return {}
        if schema is False:
            raise SchemaUnsupported("a 'false' schema accepts no value")
        if not isinstance(schema, dict):
            raise SchemaUnsupported(f"a schema must be an object or a boolean, got {type(schema).__name__}")
        resolved = dict(schema)
        ref = resolved.pop("$ref", None)
        if ref is not None:
            target = self._resolve(resolve_ref(self._root, ref), depth + 1)
            resolved = _merge(target, resolved)
        all_of = resolved.pop("allOf", None)
        if all_of is not None:
            for part in all_of:
                resolved = _merge(resolved, self._resolve(part, depth + 1))
        return resolved

    # -- generating -----------------------------------------------------------------------------

    def value(self, schema: Any, name: str, depth: int, variant: int) -> Any:
        if self._budget.spent:
            return None  # past the cut: never part of the text the answer keeps
        spec = self._resolve(schema, depth)
        if "const" in spec:
            return self._literal(spec["const"], name)
        if "enum" in spec:
            enum = spec["enum"]
            if not enum:
                raise SchemaUnsupported(f"'enum' of {name!r} lists no value")
            types = spec.get("type")
            if types is not None:  # enum next to type (say from allOf): only members of that type
                allowed = types if isinstance(types, list) else [types]
                enum = [item for item in enum if any(is_type(item, t) for t in allowed)]
                if not enum:
                    raise SchemaUnsupported(f"no 'enum' member has type {types!r}")
            return self._literal(enum[variant % len(enum)], name)
        any_of = spec.pop("anyOf", None)
        if any_of is not None:
            return self._any_of(spec, any_of, name, depth, variant)
        one_of = spec.pop("oneOf", None)
        if one_of is not None:
            return self._one_of(spec, one_of, name, depth, variant)
        kind = _kind(spec)
        if kind == "object":
            return self._object(spec, name, depth, variant)
        if kind == "array":
            return self._array(spec, name, depth, variant)
        if kind == "string":
            return string_for(spec, name, variant, self._budget)
        self._budget.take(1, f"the value of {name!r}")
        if kind == "integer":
            return integer_for(spec, variant)
        if kind == "number":
            return number_for(spec, variant)
        if kind == "boolean":
            return variant % 2 == 0
        return None

    def _literal(self, value: Any, name: str) -> Any:
        """A ``const`` or ``enum`` value, charged its JSON size (measured once per value)."""
        size = self._sizes.get(id(value))
        if size is None:
            size = self._sizes[id(value)] = len(json.dumps(value))
        self._budget.take(size, f"the value of {name!r}")
        return value

    def _branches(self, spec: dict[str, Any], branches: list[Any]) -> list[dict[str, Any]]:
        return [_merge(spec, self._resolve(branch, 0)) for branch in branches]

    def _any_of(self, spec: dict[str, Any], branches: list[Any], name: str, depth: int, variant: int) -> Any:
        merged = self._branches(spec, branches)
        ordered = sorted(merged, key=lambda branch: _kind(branch) == "null")  # stable: null last
        error: SchemaUnsupported | None = None
        for branch in ordered:
            try:
                return self.value(branch, name, depth + 1, variant)
            except SchemaUnsupported as unsatisfied:
                error = error or unsatisfied
        assert error is not None  # lint keeps anyOf non-empty
        raise error

    def _one_of(self, spec: dict[str, Any], branches: list[Any], name: str, depth: int, variant: int) -> Any:
        merged = self._branches(spec, branches)
        first: Any = None
        for index, branch in enumerate(merged):
            try:
                candidate = self.value(branch, name, depth + 1, variant)
            except SchemaUnsupported:
                continue
            if self._budget.spent:
                return candidate
            others = merged[:index] + merged[index + 1 :]
            if not any(self._accepts(other, candidate) for other in others):
                return candidate
            if first is None:
                first = candidate
        if first is None:
            raise SchemaUnsupported("no 'oneOf' branch can be satisfied")
        return first

    def _accepts(self, schema: Any, value: Any) -> bool:
        return violation(value, schema, root=self._root, budget=self._budget) is None

    def _object(self, spec: dict[str, Any], name: str, depth: int, variant: int) -> dict[str, Any]:
        properties: dict[str, Any] = spec.get("properties") or {}
        required = [key for key in spec.get("required") or [] if isinstance(key, str)]
        extra = spec.get("additionalProperties", True)
        keys = list(dict.fromkeys([*required, *properties] if depth < _OPTIONAL_DEPTH else required))
        only = spec.get(_ONLY)
        if only is not None:
            refused = [key for key in required if key not in only]
            if refused:
                raise SchemaUnsupported(f"'allOf' parts forbid required properties {refused}")
            keys = [key for key in keys if key in only]
            properties = {key: sub for key, sub in properties.items() if key in only}
            extra = False
        min_props = count_of(spec, "minProperties") or 0
        max_props = count_of(spec, "maxProperties")
        if max_props is not None and min_props > max_props:
            raise SchemaUnsupported(f"'minProperties' {min_props} is more than 'maxProperties' {max_props}")
        keys = _with_dependents(keys, _dependent_names(spec))
        if max_props is not None and len(keys) > max_props:
            keys = list(dict.fromkeys([*required, *properties]))[: max(max_props, len(required))]
        # each property takes its quotes, its colon and a value of one character at least
        self._budget.require(4 * min_props, f"'minProperties' {min_props} of {name!r}")
        patterns: dict[str, Any] = spec.get("patternProperties") or {}
        result: dict[str, Any] = {}
        for key in keys:
            if self._budget.spent:
                return result
            sub = _property_schema(key, properties, patterns, extra)
            self._budget.take(len(key) + 3, f"property {key!r} of {name!r}")
            try:
                result[key] = self.value(sub, key, depth + 1, variant)
            except SchemaUnsupported:
                if key in required:
                    raise
                # an optional property no value can satisfy is simply left out
        index = 0
        while len(result) < min_props and not self._budget.spent:
            spare = next((k for k in properties if k not in result), None)
            key = spare if spare is not None else f"extra_{index + 1}"
            if spare is None:
                if extra is False:
                    raise SchemaUnsupported("'minProperties' needs more keys than 'properties' allows")
                index += 1
            self._budget.take(len(key) + 3, f"'minProperties' {min_props} of {name!r}")
            sub = _property_schema(key, properties, patterns, extra)
            result[key] = self.value(sub, key, depth + 1, variant)
        return result

    def _array(self, spec: dict[str, Any], name: str, depth: int, variant: int) -> list[Any]:
        prefix: list[Any] = spec.get("prefixItems") or []
        items = spec.get("items", True)
        if isinstance(items, list):  # draft-04..2019 tuple form
            prefix, items = items, spec.get("additionalItems", True)
        low = count_of(spec, "minItems") or 0
        high = count_of(spec, "maxItems")
        if high is not None and low > high:
            raise SchemaUnsupported(f"'minItems' {low} is more than 'maxItems' {high} for {name!r}")
        contains = spec.get("contains")
        wanted = max(count_of(spec, "minContains") or 1, 1) if contains is not None else 0
        count = max(low, len(prefix), wanted, 1)
        if high is not None:
            count = min(count, high)
        what = f"'minItems' {count} of {name!r}"
        self._budget.require(count, what)  # each item takes a character at least
        unique = spec.get("uniqueItems") is True
        result: list[Any] = []
        if contains is not None:
            for _ in range(min(wanted, count)):
                if self._budget.spent:
                    return result
                self._budget.take(1, what)
                result.append(self.value(contains, name, depth + 1, len(result) if unique else 0))
        for index in range(len(result), count):
            sub = prefix[index] if index < len(prefix) else items
            if sub is False or self._budget.spent:
                break
            self._budget.take(1, what)
            result.append(self.value(sub, _singular(name), depth + 1, index if unique else variant))
        if unique and not self._budget.spent and len({freeze(v) for v in result}) < len(result):
            raise SchemaUnsupported(f"cannot make {count} distinct items for 'uniqueItems' in {name!r}")
        return result


def _property_schema(key: str, properties: dict[str, Any], patterns: dict[str, Any], extra: Any) -> Any:
    """What the value of ``key`` must satisfy: its ``properties`` entry, else ``additionalProperties``,
    and every ``patternProperties`` schema whose regex finds the key."""
    matching = [sub for pattern, sub in patterns.items() if re.search(pattern, key) is not None]
    if key in properties:
        base = properties[key]
    elif matching:
        base = True
    else:
        base = extra if isinstance(extra, dict | bool) else True
    return {"allOf": [base, *matching]} if matching else base


def _dependent_names(spec: dict[str, Any]) -> dict[str, list[str]]:
    """``dependentRequired``, with the name lists of draft-7 ``dependencies`` folded in."""
    names = {key: value for key, value in (spec.get("dependencies") or {}).items() if isinstance(value, list)}
    names.update(spec.get("dependentRequired") or {})
    return names


def _with_dependents(keys: list[str], dependent: dict[str, list[str]]) -> list[str]:
    """``keys`` plus, for each present key, the names ``dependentRequired`` requires with it."""
    chosen = dict.fromkeys(keys)
    pending = list(keys)
    while pending:
        for name in dependent.get(pending.pop(), ()):
            if name not in chosen:
                chosen[name] = None
                pending.append(name)
    return list(chosen)


def _kind(spec: dict[str, Any]) -> str:
    types = spec.get("type")
    if isinstance(types, list):
        present = [t for t in types if isinstance(t, str)]
        non_null = [t for t in present if t != "null"]
        return min(non_null or present or ["null"], key=lambda t: _order(t))
    if isinstance(types, str):
        return types
    if any(k in spec for k in ("properties", "required", "additionalProperties", "minProperties")):
        return "object"
    if any(k in spec for k in ("items", "prefixItems", "minItems", "maxItems", "contains")):
        return "array"
    if any(k in spec for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def _order(kind: str) -> int:
    return _TYPE_ORDER.index(kind) if kind in _TYPE_ORDER else len(_TYPE_ORDER)


_TIGHTER_LOW: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_TIGHTER_HIGH: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (for ``allOf`` and ``$ref`` siblings): keys unioned, bounds tightened."""
    merged = dict(base)
    only = _closed_keys(base)
    other = _closed_keys(extra)
    if only is not None or other is not None:
        # "additionalProperties": false in one part admits only that part's own properties.
        if only is not None and other is not None:
            merged[_ONLY] = only & other
        else:
            merged[_ONLY] = only if only is not None else other
    for key, value in extra.items():
        if key == _ONLY:
            continue
        if key not in merged:
            merged[key] = value
        elif key == "properties" and isinstance(value, dict) and isinstance(merged[key], dict):
            both = merged[key]
            merged[key] = {
                **both,
                **{k: {"allOf": [both[k], v]} if k in both else v for k, v in value.items()},
            }
        elif key == "required" and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif key in _TIGHTER_LOW or key in _TIGHTER_HIGH:
            if isinstance(value, bool) or isinstance(merged[key], bool):  # draft-4 exclusive flags
                if value != merged[key]:
                    raise SchemaUnsupported(
                        f"'allOf' parts disagree on {key!r}: {merged[key]!r} and {value!r}"
                    )
            else:
                merged[key] = max(merged[key], value) if key in _TIGHTER_LOW else min(merged[key], value)
        elif key in ("format", "pattern", "const", "multipleOf") and merged[key] != value:
            raise SchemaUnsupported(
                f"'allOf' parts disagree on {key!r}: {merged[key]!r:.60} and {value!r:.60}"
            )
        elif key == "enum" and isinstance(value, list) and isinstance(merged[key], list):
            common = [item for item in merged[key] if item in value]
            if not common:
                raise SchemaUnsupported("'allOf' parts share no 'enum' value")
            merged[key] = common
        elif key == "type" and isinstance(value, str | list) and isinstance(merged[key], str | list):
            left = set(merged[key] if isinstance(merged[key], list) else [merged[key]])
            right = set(value if isinstance(value, list) else [value])
            if "number" in left:
                left.add("integer")
            if "number" in right:
                right.add("integer")
            both = sorted(left & right, key=_order)
            if not both:
                raise SchemaUnsupported(f"'allOf' asks for types {sorted(left)} and {sorted(right)} at once")
            merged[key] = both if len(both) > 1 else both[0]
        else:
            merged[key] = value
    return merged


def _disagree(key: str, left: Any, right: Any) -> SchemaUnsupported:
    return SchemaUnsupported(f"'allOf' parts disagree on {key!r}: {left!r:.60} and {right!r:.60}")


def _closed_keys(spec: dict[str, Any]) -> frozenset[str] | None:
    if _ONLY in spec:
        keys: frozenset[str] = spec[_ONLY]
        return keys
    if spec.get("additionalProperties") is False:
        return frozenset(spec.get("properties") or {})
    return None


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and len(name) > 1 else name
