"""One deterministic JSON instance of a JSON schema, for synthesized tool calls and structured output.

A real NIM constrains decoding with the schema (xgrammar/outlines); the mock produces a value
that validates instead. Covered: ``type`` (single or list), ``properties``/``required``/
``additionalProperties``/``min|maxProperties``, ``enum``, ``const``, ``items``/``prefixItems``/
``min|maxItems``/``uniqueItems``/``contains``, ``anyOf``/``oneOf``/``allOf``, ``$ref`` into
``$defs``/``definitions`` (JSON pointers from the root), string ``format`` (date-time, date, time,
email, uri, uuid, ipv4, ipv6, hostname...), ``min|maxLength``, ``pattern``, and numeric
``minimum``/``maximum`` (exclusive too) and ``multipleOf``.

Choices are stable so the same request gives the same bytes: the first ``anyOf`` branch that is
not ``null`` (so ``Optional[X]`` yields an X), for ``oneOf`` the first branch whose value no other
branch plainly accepts, the first ``enum`` member, and strings built from the property name. A
schema that cannot be satisfied, or uses a ``$ref`` outside the document, raises
:class:`SchemaUnsupported`, which the server turns into a 400 that says why.
"""

from __future__ import annotations

from typing import Any

from nim_mock.synth.scalars import SchemaUnsupported, integer_for, number_for, string_for

__all__ = ["SchemaUnsupported", "instance_for"]

_MAX_DEPTH = 32
_OPTIONAL_DEPTH = 3
"""Optional properties are filled in down to this depth, so recursive schemas stay finite."""
_ONLY = "\0only"
"""Key of merged schemas: the property names every ``additionalProperties: false`` part allows."""
_TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")


def instance_for(schema: Any, *, name: str = "value") -> Any:
    """A value valid under ``schema``; ``name`` seeds strings (a property or tool name reads well)."""
    return _Generator(schema).value(schema, name, 0, 0)


class _Generator:
    def __init__(self, root: Any) -> None:
        self._root = root

    # -- resolving ------------------------------------------------------------------------------

    def _resolve(self, schema: Any, depth: int) -> dict[str, Any]:
        """The schema with ``$ref`` and ``allOf`` folded in, as one plain dict."""
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
            target = self._resolve(self._pointer(ref), depth + 1)
            resolved = _merge(target, resolved)
        all_of = resolved.pop("allOf", None)
        if all_of is not None:
            if not isinstance(all_of, list):
                raise SchemaUnsupported("'allOf' must be a list of schemas")
            for part in all_of:
                resolved = _merge(resolved, self._resolve(part, depth + 1))
        return resolved

    def _pointer(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaUnsupported(f"only local $ref ('#/$defs/Name') is supported, got {ref!r}")
        node = self._root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SchemaUnsupported(f"$ref {ref!r} points at nothing in the schema")
        return node

    # -- generating -----------------------------------------------------------------------------

    def value(self, schema: Any, name: str, depth: int, variant: int) -> Any:
        spec = self._resolve(schema, depth)
        if "const" in spec:
            return spec["const"]
        if "enum" in spec:
            enum = spec["enum"]
            if not isinstance(enum, list) or not enum:
                raise SchemaUnsupported("'enum' must be a non-empty list")
            types = spec.get("type")
            if types is not None:  # enum next to type (say from allOf): only members of that type
                allowed = types if isinstance(types, list) else [types]
                enum = [item for item in enum if any(_is_type(item, t) for t in allowed)]
                if not enum:
                    raise SchemaUnsupported(f"no 'enum' member has type {types!r}")
            return enum[variant % len(enum)]
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
            return string_for(spec, name, variant)
        if kind == "integer":
            return integer_for(spec, variant)
        if kind == "number":
            return number_for(spec, variant)
        if kind == "boolean":
            return variant % 2 == 0
        return None

    def _branches(self, spec: dict[str, Any], branches: Any, keyword: str) -> list[dict[str, Any]]:
        if not isinstance(branches, list) or not branches:
            raise SchemaUnsupported(f"'{keyword}' must be a non-empty list of schemas")
        return [_merge(spec, self._resolve(branch, 0)) for branch in branches]

    def _any_of(self, spec: dict[str, Any], branches: Any, name: str, depth: int, variant: int) -> Any:
        merged = self._branches(spec, branches, "anyOf")
        chosen = next((b for b in merged if _kind(b) != "null"), merged[0])
        return self.value(chosen, name, depth + 1, variant)

    def _one_of(self, spec: dict[str, Any], branches: Any, name: str, depth: int, variant: int) -> Any:
        merged = self._branches(spec, branches, "oneOf")
        first: Any = None
        for index, branch in enumerate(merged):
            try:
                candidate = self.value(branch, name, depth + 1, variant)
            except SchemaUnsupported:
                continue
            others = merged[:index] + merged[index + 1 :]
            if not any(self._plainly_accepts(other, candidate, depth) for other in others):
                return candidate
            if first is None:
                first = candidate
        if first is None:
            raise SchemaUnsupported("no 'oneOf' branch can be satisfied")
        return first

    def _plainly_accepts(self, schema: Any, value: Any, depth: int) -> bool:
        """A cheap check (type, const, enum, required keys, property types) used to tell oneOf apart."""
        spec = self._resolve(schema, depth + 1)
        if "const" in spec and spec["const"] != value:
            return False
        if "enum" in spec and value not in spec["enum"]:
            return False
        for keyword in ("anyOf", "oneOf"):
            if keyword in spec and not any(self._plainly_accepts(b, value, depth + 1) for b in spec[keyword]):
                return False
        types = spec.get("type")
        if types is not None:
            allowed = types if isinstance(types, list) else [types]
            if not any(_is_type(value, t) for t in allowed):
                return False
        if isinstance(value, dict):
            if any(key not in value for key in spec.get("required", [])):
                return False
            properties = spec.get("properties", {})
            if spec.get("additionalProperties") is False and any(key not in properties for key in value):
                return False
            for key, sub in properties.items():
                if key in value and not self._plainly_accepts(sub, value[key], depth + 1):
                    return False
        return True

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
        max_props = spec.get("maxProperties")
        if isinstance(max_props, int) and len(keys) > max_props:
            keys = list(dict.fromkeys([*required, *properties]))[: max(max_props, len(required))]
        result: dict[str, Any] = {}
        for key in keys:
            sub = properties.get(key, extra if isinstance(extra, dict) else True)
            try:
                result[key] = self.value(sub, key, depth + 1, variant)
            except SchemaUnsupported:
                if key in required:
                    raise
                # an optional property no value can satisfy is simply left out
        min_props = spec.get("minProperties", 0)
        index = 0
        while isinstance(min_props, int) and len(result) < min_props:
            spare = next((k for k in properties if k not in result), None)
            if spare is not None:
                result[spare] = self.value(properties[spare], spare, depth + 1, variant)
                continue
            if extra is False:
                raise SchemaUnsupported("'minProperties' needs more keys than 'properties' allows")
            index += 1
            key = f"extra_{index}"
            result[key] = self.value(extra if isinstance(extra, dict) else True, key, depth + 1, variant)
        return result

    def _array(self, spec: dict[str, Any], name: str, depth: int, variant: int) -> list[Any]:
        prefix = spec.get("prefixItems") or []
        items = spec.get("items", True)
        if isinstance(items, list):  # draft-04..2019 tuple form
            prefix, items = items, spec.get("additionalItems", True)
        low = spec.get("minItems", 0)
        high = spec.get("maxItems")
        count = max(low if isinstance(low, int) else 0, len(prefix), 1)
        if isinstance(high, int):
            count = min(count, high)
        unique = spec.get("uniqueItems") is True
        result: list[Any] = []
        contains = spec.get("contains")
        if contains is not None and count > 0:
            result.append(self.value(contains, name, depth + 1, 0))
        for index in range(len(result), count):
            sub = prefix[index] if index < len(prefix) else items
            if sub is False:
                break
            value = self.value(sub, _singular(name), depth + 1, index if unique else variant)
            result.append(value)
        if unique and len({_freeze(v) for v in result}) < len(result):
            raise SchemaUnsupported(f"cannot make {count} distinct items for 'uniqueItems' in {name!r}")
        return result


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


def _is_type(value: Any, kind: Any) -> bool:
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
    return True


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
        elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"):
            merged[key] = max(merged[key], value)
        elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"):
            merged[key] = min(merged[key], value)
        elif key in ("format", "pattern", "const", "multipleOf") and merged[key] != value:
            raise SchemaUnsupported(f"'allOf' parts disagree on {key!r}: {merged[key]!r} and {value!r}")
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


def _closed_keys(spec: dict[str, Any]) -> frozenset[str] | None:
    if _ONLY in spec:
        keys: frozenset[str] = spec[_ONLY]
        return keys
    if spec.get("additionalProperties") is False:
        return frozenset(spec.get("properties") or {})
    return None


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and len(name) > 1 else name


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return (type(value).__name__ in ("int", "float"), value)
