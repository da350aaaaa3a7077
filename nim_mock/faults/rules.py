"""Fault rules: what can go wrong, where, and how often; parsed from a JSON file or a request header.

Why a separate, pure module: a rules file is user input, so every mistake must come back as one
line naming the file, the field and what to write instead (the CLI exits 2 with it, the plugin
fails the test with it), and the same fault grammar serves both the file and the per-request
``x-nim-mock-fault`` header. Nothing here does I/O except :func:`load_fault_rules` reading its file.

Rules file (``nim-mock serve --faults FILE``; full walk-through in ``docs/faults.md``)::

    {
      "version": 1,                      # optional; 1 is the only version
      "seed": 7,                         # optional; --seed N overrides it
      "rules": [
        {
          "name": "throttle",            # optional label for the log line
          "match": {"path": "/v1/chat/*", "model": "meta/*", "stream": true, "method": "POST"},
          "when": {"every": 3},          # or {"first": 2} or {"probability": 0.25}; absent = always
          "fault": {"kind": "rate_limit", "retry_after": 2}
        }
      ]
    }

``match`` keys are all optional (``path`` and ``model`` are shell-style globs, ``stream`` compares
with the body's ``stream``); ``fault`` is one object, a header-syntax string, or a list of either.

Fault kinds and their parameters (header aliases in brackets):

=====================  ==========================================================================
``latency``            ``ms``: wait before answering at all
``slow_first_token``   ``ms``: wait before the first body event (the whole body if not streamed)
``slow_tokens``        ``ms``: wait before every later event of a stream
``rate_limit`` [429]   ``retry_after`` (seconds, optional), ``layout`` (nim, vllm, gateway)
``server_error``       ``status`` 500/502/503/504 [500, 502, 503, 504], ``layout``, ``retry_after``
``accepted`` [202]     ``polls``: 202 + NVCF-REQID, then that many status polls answered 202
``cut``                ``after``: drop the connection after that many events (no ``[DONE]``)
``malformed``          ``after``: the event after that many is sent cut in half (not JSON)
``stream_error``       ``after``, ``layout`` (nim, vllm), ``code``, ``message``: an error event,
                       then ``data: [DONE]``
=====================  ==========================================================================

Header: ``x-nim-mock-fault: 429;retry_after=2, slow_tokens;ms=20`` (faults separated by ``,``,
parameters by ``;``; ``-`` and ``_`` are interchangeable in names).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nim_mock.faults.kinds import (
    FAULT_HEADER,
    HEADER_SYNTAX,
    Accepted,
    Cut,
    Fault,
    FaultRules,
    FaultRulesError,
    Latency,
    Malformed,
    Match,
    RateLimit,
    Rule,
    ServerError,
    SlowFirstToken,
    SlowTokens,
    StreamError,
    When,
)

__all__ = ["build_fault", "load_fault_rules", "parse_fault_rules", "parse_header"]

# -- parameters ----------------------------------------------------------------------------------

_Raw = object
"""A parameter value as given: a JSON value (rules file) or a string (header)."""

_Converter = Callable[[_Raw], Any]


def _number(raw: _Raw) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def _whole(raw: _Raw) -> int | None:
    value = _number(raw)
    if value is None or value != int(value):
        return None
    return int(value)


def _at_least_zero(read: Callable[[_Raw], float | None], what: str) -> _Converter:
    """A converter for a value ``read`` from the raw text that must not be negative."""

    def convert(raw: _Raw) -> float:
        value = read(raw)
        if value is None or value < 0:
            raise ValueError(f"must be {what}, got {raw!r}")
        return value

    return convert


_ms = _at_least_zero(_number, "a number of milliseconds >= 0")
_seconds = _at_least_zero(_number, "a number of seconds >= 0 (e.g. 2 or 0.2)")
_count = _at_least_zero(_whole, "a whole number >= 0")


def _server_status(raw: _Raw) -> int:
    value = _whole(raw)
    if value not in (500, 502, 503, 504):
        raise ValueError(f"must be one of 500, 502, 503, 504, got {raw!r}")
    return value


def _error_code(raw: _Raw) -> int:
    value = _whole(raw)
    if value is None or not 400 <= value <= 599:
        raise ValueError(f"must be an HTTP error code 400-599, got {raw!r}")
    return value


def _one_of(*choices: str) -> _Converter:
    """A converter that accepts exactly one of ``choices`` (layout names)."""

    def convert(raw: _Raw) -> str:
        if raw not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {raw!r}")
        return str(raw)

    return convert


_http_layout = _one_of("nim", "vllm", "gateway")
_stream_layout = _one_of("nim", "vllm")


def _text(raw: _Raw) -> str:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"must be a non-empty string, got {raw!r}")
    return raw


_KINDS: Mapping[str, tuple[type[Any], Mapping[str, _Converter]]] = {
    "latency": (Latency, {"ms": _ms}),
    "slow_first_token": (SlowFirstToken, {"ms": _ms}),
    "slow_tokens": (SlowTokens, {"ms": _ms}),
    "rate_limit": (RateLimit, {"retry_after": _seconds, "layout": _http_layout}),
    "server_error": (
        ServerError,
        {"status": _server_status, "layout": _http_layout, "retry_after": _seconds},
    ),
    "accepted": (Accepted, {"polls": _count}),
    "cut": (Cut, {"after": _count}),
    "malformed": (Malformed, {"after": _count}),
    "stream_error": (
        StreamError,
        {"after": _count, "layout": _stream_layout, "code": _error_code, "message": _text},
    ),
}
_REQUIRED: Mapping[str, str] = {"latency": "ms", "slow_first_token": "ms", "slow_tokens": "ms"}
_ALIASES: Mapping[str, tuple[str, dict[str, int]]] = {
    "429": ("rate_limit", {}),
    "202": ("accepted", {}),
    **{str(code): ("server_error", {"status": code}) for code in (500, 502, 503, 504)},
}
_KIND_LIST = ", ".join([*_KINDS, *_ALIASES])


def build_fault(kind: str, params: Mapping[str, _Raw], where: str) -> Fault:
    """One fault from its kind name (or alias) and raw parameters; errors name ``where``."""
    name = kind.strip().lower().replace("-", "_")
    preset: dict[str, int] = {}
    if name in _ALIASES:
        name, preset = _ALIASES[name]
    if name not in _KINDS:
        raise FaultRulesError(f"{where}: unknown fault kind {kind!r}; use one of: {_KIND_LIST}")
    cls, converters = _KINDS[name]
    values: dict[str, Any] = dict(preset)
    for key, raw in params.items():
        param = key.strip().lower().replace("-", "_")
        if param not in converters:
            valid = ", ".join(converters) or "none"
            raise FaultRulesError(f"{where}.{key}: {name} takes no parameter {key!r}; it takes: {valid}")
        try:
            values[param] = converters[param](raw)
        except ValueError as error:
            raise FaultRulesError(f"{where}.{key}: {error}") from None
    required = _REQUIRED.get(name)
    if required is not None and required not in values:
        raise FaultRulesError(f"{where}: {name} needs {required}=..., e.g. {name};{required}=200")
    fault: Fault = cls(**values)
    return fault


# -- header --------------------------------------------------------------------------------------


def parse_header(value: str) -> tuple[Fault, ...]:
    """Faults from an ``x-nim-mock-fault`` header value (see the module docstring for the grammar)."""
    faults: list[Fault] = []
    for number, item in enumerate(value.split(","), start=1):
        parts = [part.strip() for part in item.split(";")]
        where = f"{FAULT_HEADER} fault {number}"
        if not parts[0]:
            raise FaultRulesError(f"{where}: empty fault; the header reads {HEADER_SYNTAX}")
        params: dict[str, _Raw] = {}
        for part in parts[1:]:
            key, sep, raw = part.partition("=")
            if not sep or not key.strip():
                raise FaultRulesError(
                    f"{where}: parameter {part!r} is not NAME=VALUE; the header reads {HEADER_SYNTAX}"
                )
            params[key.strip()] = raw.strip()
        try:
            faults.append(build_fault(parts[0], params, where))
        except FaultRulesError as error:
            raise FaultRulesError(f"{error}; the header reads {HEADER_SYNTAX}") from None
    return tuple(faults)


# -- rules file ----------------------------------------------------------------------------------


def _object(value: object, where: str, valid: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise FaultRulesError(f"{where}: must be an object, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in valid)
    if unknown:
        raise FaultRulesError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(valid)}")
    return value


def _parse_fault_entry(entry: object, where: str) -> list[Fault]:
    if isinstance(entry, str):
        try:
            return list(parse_header(entry))
        except FaultRulesError as error:
            raise FaultRulesError(f"{where}: {error}") from None
    if not isinstance(entry, Mapping):
        raise FaultRulesError(f'{where}: must be an object like {{"kind": "cut", "after": 3}} or a string')
    kind = entry.get("kind")
    if not isinstance(kind, str):
        raise FaultRulesError(f"{where}.kind: required, one of: {_KIND_LIST}")
    params = {str(k): v for k, v in entry.items() if k != "kind"}
    return [build_fault(kind, params, where)]


def _parse_match(value: object, where: str) -> Match:
    data = _object(value, where, ("method", "path", "model", "stream"))
    for key in ("method", "path", "model"):
        if key in data and (not isinstance(data[key], str) or not data[key]):
            raise FaultRulesError(f"{where}.{key}: must be a non-empty string, got {data[key]!r}")
    if "stream" in data and not isinstance(data["stream"], bool):
        raise FaultRulesError(f"{where}.stream: must be true or false, got {data['stream']!r}")
    method = data.get("method")
    stream = data.get("stream")
    return Match(
        method=str(method).upper() if method is not None else None,
        path=str(data["path"]) if "path" in data else None,
        model=str(data["model"]) if "model" in data else None,
        stream=stream if isinstance(stream, bool) else None,
    )


def _parse_when(value: object, where: str) -> When:
    data = _object(value, where, ("every", "first", "probability"))
    if len(data) > 1:
        raise FaultRulesError(f"{where}: give one of every, first, probability, not {len(data)}")
    if "every" in data or "first" in data:
        key = "every" if "every" in data else "first"
        count = _whole(data[key])
        if count is None or count < 1:
            raise FaultRulesError(f"{where}.{key}: must be a whole number >= 1, got {data[key]!r}")
        return When(every=count) if key == "every" else When(first=count)
    if "probability" in data:
        p = _number(data["probability"])
        if isinstance(data["probability"], str) or p is None or not 0 <= p <= 1:
            raise FaultRulesError(
                f"{where}.probability: must be a number from 0 to 1, got {data['probability']!r}"
            )
        return When(probability=p)
    return When()


def _parse_rule(value: object, where: str) -> Rule:
    data = _object(value, where, ("name", "match", "when", "fault"))
    if "fault" not in data:
        raise FaultRulesError(f'{where}.fault: required, e.g. {{"kind": "rate_limit", "retry_after": 1}}')
    raw = data["fault"]
    entries = raw if isinstance(raw, list) else [raw]
    if not entries:
        raise FaultRulesError(f"{where}.fault: an empty list; give at least one fault")
    faults: list[Fault] = []
    for i, entry in enumerate(entries):
        faults += _parse_fault_entry(entry, f"{where}.fault" + (f"[{i}]" if isinstance(raw, list) else ""))
    name = data.get("name", where)
    if not isinstance(name, str) or not name:
        raise FaultRulesError(f"{where}.name: must be a non-empty string, got {name!r}")
    return Rule(
        name=name,
        faults=tuple(faults),
        match=_parse_match(data.get("match", {}), f"{where}.match"),
        when=_parse_when(data.get("when", {}), f"{where}.when"),
    )


def parse_fault_rules(data: object, source: str = "faults") -> FaultRules:
    """Rules from parsed JSON; ``source`` (a file name) starts every error message."""
    try:
        top = _object(data, "top level", ("version", "seed", "rules"))
        if top.get("version", 1) != 1:
            raise FaultRulesError(
                f"version: {top['version']!r} is not supported; this nim-mock reads version 1"
            )
        seed = top.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise FaultRulesError(f"seed: must be a whole number, got {seed!r}")
        rules = top.get("rules", [])
        if not isinstance(rules, list):
            raise FaultRulesError(f"rules: must be a list of rule objects, got {type(rules).__name__}")
        return FaultRules(tuple(_parse_rule(rule, f"rules[{i}]") for i, rule in enumerate(rules)), seed)
    except FaultRulesError as error:
        raise FaultRulesError(f"{source}: {error}") from None


def load_fault_rules(path: Path) -> FaultRules:
    """Read and check a rules file; any problem is a :class:`FaultRulesError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise FaultRulesError(f"{path}: cannot read the faults file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise FaultRulesError(f"{path}: not UTF-8 text; a faults file is JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise FaultRulesError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    return parse_fault_rules(data, str(path))
