"""Checking a made value against its schema, so no synthesized answer fails the schema it was made for.

The generator (``schema``) aims for a valid value; this is the guarantee. Every value it makes is
checked here before it is sent, and a schema no value of the generator's satisfies (``minLength 5``
with ``maxLength 2``, ``not: {}``, a ``const`` against ``type``) becomes the 400 that says which
keyword failed where, never a 200 whose content fails its own schema.

JSON Schema 2020-12 as the keywords are checked by ``keywords`` (and so typed): ``type``, ``enum``,
``const``, numbers (``minimum`` .. ``multipleOf``, boolean draft-4 exclusive bounds too), strings
(``minLength``, ``maxLength``, ``pattern``), arrays (``prefixItems``, ``items`` in both forms,
``additionalItems``, ``contains`` with ``minContains``/``maxContains``, ``minItems``, ``maxItems``,
``uniqueItems``), objects (``properties``, ``patternProperties``, ``additionalProperties``,
``required``, ``minProperties``, ``maxProperties``, ``propertyNames``, ``dependentRequired``,
``dependentSchemas``, ``dependencies``), ``allOf``/``anyOf``/``oneOf``/``not``/``if``-``then``-
``else`` and local ``$ref``. ``format`` is an annotation (2020-12's default) and is not asserted.
Equality is JSON's: ``1`` equals ``1.0``, ``true`` equals only ``true``; ``multipleOf`` on floats
follows the ``jsonschema`` package (a float quotient that is whole passes). Every subschema checked
is a step of the request's :class:`~nim_mock.synth.budget.Budget`.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Final

from nim_mock.synth.budget import Budget, SchemaUnsupported
from nim_mock.synth.keywords import count_of, number_of, resolve_ref

__all__ = ["freeze", "is_multiple", "is_type", "json_equal", "violation"]

_MAX_DEPTH: Final = 64
"""Subschemas (``$ref`` hops included) checked inside one another before the check gives up."""


def violation(value: Any, schema: Any, *, root: Any, budget: Budget) -> str | None:
    """Why ``value`` fails ``schema`` (``"at tags: 2 items, fewer than minItems 3"``), or ``None``.

    ``root`` is the document ``$ref`` pointers start from.
    """
    return _Checker(root, budget).check(value, schema, "", 0)


def is_type(value: Any, kind: Any) -> bool:
    """Whether ``value`` is of JSON Schema type ``kind`` (``5.0`` is an integer, ``true`` no number)."""
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return False


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: numbers by value, booleans only with booleans, arrays and objects member-wise."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if number_of(left) is not None and number_of(right) is not None:
        return bool(left == right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    return type(left) is type(right) and bool(left == right)


def freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON value, equal for values :func:`json_equal` calls equal."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(freeze(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, freeze(item)) for key, item in value.items()))
    return (type(value).__name__, value)


def is_multiple(value: int | float, multiple: int | float) -> bool:
    """``multipleOf`` as the ``jsonschema`` package decides it: for a float, a whole float quotient."""
    if isinstance(multiple, float):
        try:
            quotient = value / multiple
            return int(quotient) == quotient
        except (OverflowError, ValueError):  # the quotient is no finite float: exact arithmetic decides
            return Fraction(value) % Fraction(multiple) == 0
    return not value % multiple


def _at(where: str) -> str:
    return f"at {where}" if where else "at the top"


def _join(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    def __init__(self, root: Any, budget: Budget) -> None:
        self._root = root
        self._budget = budget

    def check(self, value: Any, schema: Any, where: str, depth: int) -> str | None:
        self._budget.step()
        if schema is True:
            return None
        if schema is False or not isinstance(schema, dict):
            return f"{_at(where)}: no value is allowed here (the schema is false)"
        if depth > _MAX_DEPTH:
            return f"{_at(where)}: the schema nests or refers deeper than {_MAX_DEPTH} levels"
        if "$ref" in schema:
            try:
                target = resolve_ref(self._root, schema["$ref"])
            except SchemaUnsupported as error:
                return f"{_at(where)}: {error}"
            problem = self.check(value, target, where, depth + 1)
            if problem is not None:
                return problem
        return (
            self._kind(value, schema, where)
            or self._scalar(value, schema, where)
            or (self._array(value, schema, where, depth) if isinstance(value, list) else None)
            or (self._object(value, schema, where, depth) if isinstance(value, dict) else None)
            or self._combined(value, schema, where, depth)
        )

    def _kind(self, value: Any, spec: dict[str, Any], where: str) -> str | None:
        kinds = spec.get("type")
        if kinds is not None:
            listed = kinds if isinstance(kinds, list) else [kinds]
            if not any(is_type(value, kind) for kind in listed):
                return f"{_at(where)}: {_short(value)} is not of type {' or '.join(map(str, listed))}"
        if "const" in spec and not json_equal(value, spec["const"]):
            return f"{_at(where)}: {_short(value)} is not the const {_short(spec['const'])}"
        if "enum" in spec and not any(json_equal(value, member) for member in spec["enum"]):
            return f"{_at(where)}: {_short(value)} is not one of the enum's values"
        return None

    def _scalar(self, value: Any, spec: dict[str, Any], where: str) -> str | None:
        if isinstance(value, str):
            low, high = count_of(spec, "minLength"), count_of(spec, "maxLength")
            if low is not None and len(value) < low:
                return f"{_at(where)}: {len(value)} characters, fewer than minLength {low}"
            if high is not None and len(value) > high:
                return f"{_at(where)}: {len(value)} characters, more than maxLength {high}"
            pattern = spec.get("pattern")
            if isinstance(pattern, str) and re.search(pattern, value) is None:
                return f"{_at(where)}: {_short(value)} does not match the pattern {pattern!r:.60}"
            return None
        number = number_of(value)
        if number is None:
            return None
        return self._bounds(number, spec, where)

    def _bounds(self, number: int | float, spec: dict[str, Any], where: str) -> str | None:
        low, high = number_of(spec.get("minimum")), number_of(spec.get("maximum"))
        ex_low, ex_high = spec.get("exclusiveMinimum"), spec.get("exclusiveMaximum")
        if low is not None and (number < low or (ex_low is True and number == low)):
            return f"{_at(where)}: {number!r} is below the minimum {low!r}"
        if high is not None and (number > high or (ex_high is True and number == high)):
            return f"{_at(where)}: {number!r} is above the maximum {high!r}"
        ex_low, ex_high = number_of(ex_low), number_of(ex_high)
        if ex_low is not None and number <= ex_low:
            return f"{_at(where)}: {number!r} is not above the exclusiveMinimum {ex_low!r}"
        if ex_high is not None and number >= ex_high:
            return f"{_at(where)}: {number!r} is not below the exclusiveMaximum {ex_high!r}"
        multiple = number_of(spec.get("multipleOf"))
        if multiple is not None and multiple > 0 and not is_multiple(number, multiple):
            return f"{_at(where)}: {number!r} is not a multiple of {multiple!r}"
        return None

    def _array(self, value: list[Any], spec: dict[str, Any], where: str, depth: int) -> str | None:
        low, high = count_of(spec, "minItems"), count_of(spec, "maxItems")
        if low is not None and len(value) < low:
            return f"{_at(where)}: {len(value)} items, fewer than minItems {low}"
        if high is not None and len(value) > high:
            return f"{_at(where)}: {len(value)} items, more than maxItems {high}"
        items = spec.get("items", True)
        prefix: list[Any] = spec.get("prefixItems", [])
        rest = items
        if isinstance(items, list):  # draft-04..2019 tuple form
            prefix, rest = items, spec.get("additionalItems", True)
        for index, item in enumerate(value):
            sub = prefix[index] if index < len(prefix) else rest
            problem = self.check(item, sub, _join(where, index), depth + 1)
            if problem is not None:
                return problem
        if "contains" in spec:
            found = sum(self.check(item, spec["contains"], "", depth + 1) is None for item in value)
            least = count_of(spec, "minContains")
            most = count_of(spec, "maxContains")
            least = 1 if least is None else least
            if found < least:
                return f"{_at(where)}: {found} items match 'contains', fewer than {least}"
            if most is not None and found > most:
                return f"{_at(where)}: {found} items match 'contains', more than maxContains {most}"
        if spec.get("uniqueItems") is True and len({freeze(item) for item in value}) < len(value):
            return f"{_at(where)}: items repeat, but uniqueItems is true"
        return None

    def _object(self, value: dict[str, Any], spec: dict[str, Any], where: str, depth: int) -> str | None:
        low, high = count_of(spec, "minProperties"), count_of(spec, "maxProperties")
        if low is not None and len(value) < low:
            return f"{_at(where)}: {len(value)} properties, fewer than minProperties {low}"
        if high is not None and len(value) > high:
            return f"{_at(where)}: {len(value)} properties, more than maxProperties {high}"
        for key in spec.get("required", ()):
            if key not in value:
                return f"{_at(where)}: the required property {key!r:.60} is missing"
        properties: dict[str, Any] = spec.get("properties", {})
        patterns: dict[str, Any] = spec.get("patternProperties", {})
        extra = spec.get("additionalProperties", True)
        names = spec.get("propertyNames", True)
        for key, item in value.items():
            inner = _join(where, key)
            if names is not True:
                problem = self.check(key, names, inner, depth + 1)
                if problem is not None:
                    return f"{problem} (as a property name)"
            matched = key in properties
            if matched:
                problem = self.check(item, properties[key], inner, depth + 1)
                if problem is not None:
                    return problem
            for pattern, sub in patterns.items():
                self._budget.step()
                if re.search(pattern, key) is not None:
                    matched = True
                    problem = self.check(item, sub, inner, depth + 1)
                    if problem is not None:
                        return problem
            if not matched and extra is not True:
                if extra is False:
                    return f"{_at(where)}: the property {key!r:.60} is not allowed (additionalProperties)"
                problem = self.check(item, extra, inner, depth + 1)
                if problem is not None:
                    return problem
        return self._dependencies(value, spec, where, depth)

    def _dependencies(
        self, value: dict[str, Any], spec: dict[str, Any], where: str, depth: int
    ) -> str | None:
        required: dict[str, list[str]] = dict(spec.get("dependentRequired", {}))
        schemas: dict[str, Any] = dict(spec.get("dependentSchemas", {}))
        for key, dependency in spec.get("dependencies", {}).items():
            (required if isinstance(dependency, list) else schemas)[key] = dependency
        for key, names in required.items():
            missing = next((name for name in names if key in value and name not in value), None)
            if missing is not None:
                return f"{_at(where)}: {key!r:.60} is present, so {missing!r:.60} is required too"
        for key, sub in schemas.items():
            if key in value:
                problem = self.check(value, sub, where, depth + 1)
                if problem is not None:
                    return problem
        return None

    def _combined(self, value: Any, spec: dict[str, Any], where: str, depth: int) -> str | None:
        for sub in spec.get("allOf", ()):
            problem = self.check(value, sub, where, depth + 1)
            if problem is not None:
                return problem
        if "anyOf" in spec:
            problems = [self.check(value, sub, where, depth + 1) for sub in spec["anyOf"]]
            if all(problems):
                return f"{_at(where)}: no 'anyOf' branch accepts it (first: {problems[0]})"
        if "oneOf" in spec:
            passed = sum(self.check(value, sub, where, depth + 1) is None for sub in spec["oneOf"])
            if passed != 1:
                return f"{_at(where)}: {passed} 'oneOf' branches accept it, not exactly one"
        if "not" in spec and self.check(value, spec["not"], where, depth + 1) is None:
            return f"{_at(where)}: {_short(value)} is valid under the schema in 'not'"
        if "if" in spec:
            branch = "then" if self.check(value, spec["if"], where, depth + 1) is None else "else"
            if branch in spec:
                problem = self.check(value, spec[branch], where, depth + 1)
                if problem is not None:
                    return f"{problem} ('{branch}' of an 'if')"
        return None
