"""Cassette format v1, decoded and checked field by field (the rules are in ``cassettes/README.md``).

Cassettes are written by hand as often as by the recorder, so every rule the README states is checked
here and every failure is a ``CassetteError`` naming the field (``interactions[2].response.events[5]
.t_ms``) and the fix. Nothing else escapes: a malformed file must never reach a user as a traceback
from deep inside the server. The checks also guard replay: a header value that HTTP cannot carry, or
a body that cannot be encoded, would otherwise fail later, mid-request.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Collection
from typing import Any, NoReturn

from nim_mock.cassette import (
    FORMAT,
    FORMAT_VERSION,
    Cassette,
    CassetteError,
    Event,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    compact_json,
)
from nim_mock.cassettes.canonical import a_json_type, parse_ignore
from nim_mock.cassettes.secrets import find_secret
from nim_mock.wire.http import COMPUTED_HEADERS

__all__ = ["cassette_from_dict"]

_METHOD = re.compile(r"[A-Z][A-Z-]*")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP field name (RFC 9110 token): what a server can send as a header name."""
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters (tab aside), which no HTTP field value may hold."""
_TOP_KEYS = ({"format", "version", "interactions"}, {"description", "match"})
_INTERACTION_KEYS = ({"request", "response"}, set[str]())
_REQUEST_KEYS = ({"method", "path"}, {"headers", "json", "text"})
_RESPONSE_KEYS = ({"status"}, {"headers", "t_headers_ms", "json", "text", "base64", "events"})
_EVENT_KEYS = ({"t_ms"}, {"data", "raw"})
_BODY_KEYS = ("json", "text", "base64", "events")
_SURROGATE = "holds a lone surrogate escape (like \\ud800) that UTF-8 cannot carry; fix the text"


def _kind(value: object) -> str:
    """How a JSON value reads in an error message (a boolean by its value: ``got true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return a_json_type(value)


class _Reader:
    """Holds the file name so each check only states the field and the problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, problem: str) -> NoReturn:
        raise CassetteError(self.source, field, problem)

    def obj(self, value: object, field: str, keys: tuple[Collection[str], Collection[str]]) -> dict[str, Any]:
        required, optional = keys
        if not isinstance(value, dict):
            self.fail(field, f"must be an object, got {_kind(value)}")
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted([*required, *optional]))
                self.fail(_join(field, str(key)), f"unknown key {key!r}; allowed here: {allowed}")
        for key in sorted(required):
            if key not in value:
                self.fail(_join(field, key), f"is missing; {field or 'the cassette'} needs {key!r}")
        return value

    def string(self, value: object, field: str) -> str:
        if not isinstance(value, str):
            self.fail(field, f"must be a string, got {_kind(value)}")
        return value

    def utf8(self, value: object, field: str) -> bytes:
        text = self.string(value, field)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(field, _SURROGATE)

    def number(self, value: object, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(field, f"must be a number of milliseconds, got {_kind(value)}")
        number = float(value)
        if not math.isfinite(number) or number < 0:
            self.fail(field, f"must be a finite number of milliseconds >= 0, got {value!r}")
        return number

    def json_bytes(self, value: object, field: str) -> bytes:
        try:
            return compact_json(value)
        except UnicodeEncodeError:  # also a ValueError, so it comes first
            self.fail(field, _SURROGATE)
        except (TypeError, ValueError) as error:
            self.fail(field, f"cannot be rendered as JSON ({error})")

    def header_text(self, value: object, field: str) -> str:
        text = self.string(value, field)
        if "\r" in text or "\n" in text:
            self.fail(field, "must not contain a line break (HTTP headers cannot carry one)")
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            self.fail(field, "must be Latin-1 text: HTTP headers cannot carry other characters")
        control = _CONTROL.search(text)
        if control is not None:
            self.fail(
                field, f"holds the control character {control.group()!r}, which HTTP headers cannot carry"
            )
        return text


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _check_version(reader: _Reader, data: dict[str, Any]) -> None:
    if "format" not in data:
        reader.fail("format", f'is missing; a nim-harness cassette starts with "format": "{FORMAT}"')
    if data["format"] != FORMAT:
        reader.fail(
            "format", f"must be {FORMAT!r}, got {data['format']!r}: this is not a nim-harness cassette"
        )
    if "version" not in data:
        reader.fail("version", f'is missing; add "version": {FORMAT_VERSION}')
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        reader.fail("version", f"must be the integer {FORMAT_VERSION}, got {_kind(version)}")
    if version > FORMAT_VERSION:
        reader.fail(
            "version",
            f"is {version}: written by a newer nim-harness (this one reads version {FORMAT_VERSION}); "
            "upgrade nim-harness",
        )
    if version < FORMAT_VERSION:
        reader.fail(
            "version",
            f"is {version}, an old format this nim-harness no longer reads (it reads version "
            f"{FORMAT_VERSION}); re-record the cassette (pytest --nim-mode=record or nim-mock record)",
        )


def _ignore_paths(reader: _Reader, value: object) -> tuple[str, ...]:
    match = reader.obj(value, "match", (set(), {"ignore"}))
    if "ignore" not in match:
        return ()
    paths = match["ignore"]
    if not isinstance(paths, list):
        reader.fail("match.ignore", f"must be an array of dotted paths, got {_kind(paths)}")
    for index, path in enumerate(paths):
        field = f"match.ignore[{index}]"
        try:
            parse_ignore(reader.string(path, field))
        except ValueError as error:
            reader.fail(field, str(error))
    return tuple(paths)


def _request(reader: _Reader, value: object, field: str) -> RecordedRequest:
    data = reader.obj(value, field, _REQUEST_KEYS)
    method = reader.string(data["method"], f"{field}.method")
    if not _METHOD.fullmatch(method):
        reader.fail(f"{field}.method", f"must be an upper-case HTTP method such as 'POST', got {method!r}")
    path = reader.string(data["path"], f"{field}.path")
    if not path.startswith("/") or any(ch.isspace() for ch in path):
        reader.fail(
            f"{field}.path",
            f"must start with '/' and hold no spaces, like '/v1/chat/completions', got {path!r}",
        )
    headers: dict[str, str] = {}
    if "headers" in data:
        raw_headers = data["headers"]
        if not isinstance(raw_headers, dict):
            reader.fail(
                f"{field}.headers", f"must be an object of header names to values, got {_kind(raw_headers)}"
            )
        for name, header_value in raw_headers.items():
            header_field = f"{field}.headers.{name}"
            name = reader.header_text(name, header_field)
            if name != name.lower():
                reader.fail(header_field, f"header names are stored lower-case; write {name.lower()!r}")
            headers[name] = reader.header_text(header_value, header_field)
    if "json" in data and "text" in data:
        reader.fail(f"{field}.text", "a request has either 'json' or 'text', not both; keep one")
    raw_body = reader.utf8(data["text"], f"{field}.text") if "text" in data else None
    if "json" in data:
        reader.json_bytes(data["json"], f"{field}.json")
    return RecordedRequest(method, path, headers, data.get("json"), raw_body)


def _response_headers(reader: _Reader, value: object, field: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        reader.fail(field, f"must be an array of [name, value] pairs, got {_kind(value)}")
    pairs: list[tuple[str, str]] = []
    for index, pair in enumerate(value):
        pair_field = f"{field}[{index}]"
        if not isinstance(pair, list) or len(pair) != 2:
            reader.fail(
                pair_field, f'must be a [name, value] pair like ["server", "uvicorn"], got {pair!r:.60}'
            )
        name = reader.header_text(pair[0], f"{pair_field}[0]")
        if not _TOKEN.fullmatch(name):
            reader.fail(
                f"{pair_field}[0]",
                f"is not a valid header name: {name!r} (letters, digits and !#$%&'*+-.^_`|~ only)",
            )
        if name.lower() in COMPUTED_HEADERS:
            reader.fail(pair_field, f"{name!r} is never stored: the server computes it; remove this pair")
        pairs.append((name, reader.header_text(pair[1], f"{pair_field}[1]")))
    return tuple(pairs)


def _events(reader: _Reader, value: object, field: str) -> tuple[Event, ...]:
    if not isinstance(value, list):
        reader.fail(field, f"must be an array of events, got {_kind(value)}")
    events: list[Event] = []
    previous = 0.0
    for index, item in enumerate(value):
        event_field = f"{field}[{index}]"
        data = reader.obj(item, event_field, _EVENT_KEYS)
        t_ms = reader.number(data["t_ms"], f"{event_field}.t_ms")
        if t_ms < previous:
            reader.fail(
                f"{event_field}.t_ms",
                f"goes back in time ({t_ms!r} after {previous!r}); events are listed in the order sent",
            )
        previous = t_ms
        if ("data" in data) == ("raw" in data):
            reader.fail(
                event_field, "needs exactly one of 'data' (the JSON of a data: line) or 'raw' (exact text)"
            )
        if "data" in data:
            raw = b"data: " + reader.json_bytes(data["data"], f"{event_field}.data") + b"\n\n"
        else:
            raw = reader.utf8(data["raw"], f"{event_field}.raw")
            if not raw:
                reader.fail(
                    f"{event_field}.raw", "is empty; an event's raw text includes its blank-line terminator"
                )
        events.append(Event(t_ms, raw))
    return tuple(events)


def _response(reader: _Reader, value: object, field: str) -> RecordedResponse:
    data = reader.obj(value, field, _RESPONSE_KEYS)
    status = data["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        reader.fail(
            f"{field}.status",
            f"must be an HTTP status code from 200 to 599 (a final answer), got {status!r:.60}",
        )
    present = [key for key in _BODY_KEYS if key in data]
    if len(present) > 1:
        reader.fail(
            f"{field}.{present[1]}",
            f"a response has at most one of json, text, base64, events; found {present}",
        )
    headers = _response_headers(reader, data["headers"], f"{field}.headers") if "headers" in data else ()
    t_headers = (
        reader.number(data["t_headers_ms"], f"{field}.t_headers_ms") if "t_headers_ms" in data else 0.0
    )
    body = b""
    events: tuple[Event, ...] | None = None
    if "json" in data:
        body = reader.json_bytes(data["json"], f"{field}.json")
    elif "text" in data:
        body = reader.utf8(data["text"], f"{field}.text")
    elif "base64" in data:
        encoded = reader.string(data["base64"], f"{field}.base64")
        try:
            body = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            reader.fail(f"{field}.base64", "is not valid base64 (standard alphabet, padded)")
    elif "events" in data:
        events = _events(reader, data["events"], f"{field}.events")
    return RecordedResponse(status, headers, body, events, t_headers)


def _build(reader: _Reader, data: object, name: str) -> Cassette:
    if not isinstance(data, dict):
        reader.fail("", f'must hold a JSON object with "format": "{FORMAT}", got {_kind(data)}')
    _check_version(reader, data)
    reader.obj(data, "", _TOP_KEYS)
    description = reader.string(data["description"], "description") if "description" in data else ""
    ignore = _ignore_paths(reader, data["match"]) if "match" in data else ()
    raw_interactions = data["interactions"]
    if not isinstance(raw_interactions, list) or not raw_interactions:
        reader.fail(
            "interactions", f"must be a non-empty array of interactions, got {_kind(raw_interactions)}"
        )
    interactions = []
    for index, item in enumerate(raw_interactions):
        field = f"interactions[{index}]"
        pair = reader.obj(item, field, _INTERACTION_KEYS)
        request = _request(reader, pair["request"], f"{field}.request")
        interactions.append(Interaction(request, _response(reader, pair["response"], f"{field}.response")))
    secret = find_secret(data)
    if secret is not None:
        where, kind = secret
        reader.fail(
            where,
            f"holds a secret ({kind}); cassettes are committed and shared, so replace it with "
            '"REDACTED" (and rotate the key if it was ever pushed)',
        )
    return Cassette(name, tuple(interactions), description, ignore)


def cassette_from_dict(data: object, *, name: str, source: str) -> Cassette:
    """The cassette a decoded v1 JSON document describes; any problem is a ``CassetteError``.

    ``name`` becomes ``Cassette.name``; ``source`` (a file path, as given) only labels errors.
    """
    reader = _Reader(source)
    try:
        return _build(reader, data, name)
    except RecursionError:
        reader.fail("", "is nested too deeply to be a cassette")
