"""Cassette -> the documented v1 layout, and the pretty JSON text a reviewer reads in a diff.

The one rule that keeps replay byte-exact while the file stays readable: a body or event is written
as structured JSON only when rendering that JSON compactly (``compact_json``) gives back the very
bytes that were sent. Anything else (spaced JSON, ``data: [DONE]``, a comment line, plain text) is
stored as text, and bytes that are not UTF-8 as base64. ``decode`` reverses each choice exactly,
so save then load is the identity.

The text layout is two-space indented JSON where a short container stays on one line, and every
server-sent event and header pair is always one line: a re-recorded stream then diffs event by event.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from nim_mock.cassette import (
    FORMAT,
    FORMAT_VERSION,
    Cassette,
    CassetteError,
    Event,
    RecordedRequest,
    RecordedResponse,
    compact_json,
)
from nim_mock.wire.http import COMPUTED_HEADERS

__all__ = ["cassette_to_dict", "dumps_pretty"]

_WIDTH = 100
"""A container stays on one line when its JSON plus its indentation fits in this many columns (the
key in front is not counted). ``tools/author_cassettes.py`` writes the bundled cassettes with
``dumps_pretty`` too, so re-saving a bundled cassette changes nothing."""
_ENTRY_PER_LINE = frozenset({"events", "headers"})


class _NotStrictJson(ValueError):
    """NaN/Infinity: Python's json accepts them, JSON does not, so they never count as JSON."""


def _reject_constant(name: str) -> Any:
    raise _NotStrictJson(name)


def _as_compact_json(data: bytes) -> tuple[bool, Any]:
    """(True, value) when ``data`` is exactly ``compact_json(value)``, else (False, None)."""
    try:
        value = json.loads(data, parse_constant=_reject_constant)
        return (compact_json(value) == data, value)
    except (ValueError, UnicodeError, RecursionError):
        return (False, None)


def _source(cassette: Cassette) -> str:
    return str(cassette.source) if cassette.source is not None else cassette.name


def _utf8(cassette: Cassette, data: bytes, field: str, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CassetteError(
            _source(cassette), field, f"{what} is not UTF-8 (byte {error.start}); format v1 cannot store it"
        ) from None


def _request(cassette: Cassette, request: RecordedRequest, field: str) -> dict[str, Any]:
    out: dict[str, Any] = {"method": request.method, "path": request.path}
    if request.headers:
        # HTTP header names are case-insensitive; the format stores them lower-case (as ASGI gives them).
        out["headers"] = {name.lower(): value for name, value in request.headers.items()}
    if request.body is not None:
        out["json"] = request.body
    elif request.raw_body:
        out["text"] = _utf8(cassette, request.raw_body, f"{field}.text", "the request body")
    return out


def _event(cassette: Cassette, event: Event, field: str) -> dict[str, Any]:
    raw = event.raw
    if raw.startswith(b"data: ") and raw.endswith(b"\n\n"):
        is_json, value = _as_compact_json(raw[6:-2])
        if is_json:
            return {"t_ms": float(event.t_ms), "data": value}
    return {"t_ms": float(event.t_ms), "raw": _utf8(cassette, raw, f"{field}.raw", "the event")}


def _response(cassette: Cassette, response: RecordedResponse, field: str) -> dict[str, Any]:
    out: dict[str, Any] = {"status": response.status}
    headers = [[name, value] for name, value in response.headers if name.lower() not in COMPUTED_HEADERS]
    if headers:
        out["headers"] = headers
    if response.t_headers_ms:
        out["t_headers_ms"] = float(response.t_headers_ms)
    if response.events is not None:
        out["events"] = [
            _event(cassette, event, f"{field}.events[{index}]") for index, event in enumerate(response.events)
        ]
    elif response.body:
        is_json, value = _as_compact_json(response.body)
        if is_json:
            out["json"] = value
        else:
            try:
                out["text"] = response.body.decode("utf-8")
            except UnicodeDecodeError:
                out["base64"] = base64.b64encode(response.body).decode("ascii")
    return out


def cassette_to_dict(cassette: Cassette) -> dict[str, Any]:
    """The v1 document for ``cassette``, keys in the README's order.

    ``content-length``, ``transfer-encoding``, ``date`` and ``connection`` response headers are left
    out (the format never stores them; the server computes them). An event or request body that is
    not UTF-8 cannot be stored in v1 and raises ``CassetteError``.
    """
    out: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
    if cassette.description:
        out["description"] = cassette.description
    if cassette.ignore:
        out["match"] = {"ignore": list(cassette.ignore)}
    out["interactions"] = [
        {
            "request": _request(cassette, interaction.request, f"interactions[{index}].request"),
            "response": _response(cassette, interaction.response, f"interactions[{index}].response"),
        }
        for index, interaction in enumerate(cassette.interactions)
    ]
    return out


def _render(value: Any, indent: int, one_line: bool = False) -> str:
    """``value`` laid out at ``indent``: on one line when it fits (or must), else one entry per line."""
    flat = json.dumps(value, ensure_ascii=False)
    if one_line or not isinstance(value, dict | list) or len(flat) + indent <= _WIDTH:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        return (
            "[\n" + ",\n".join(pad + _render(item, indent + 2) for item in value) + "\n" + " " * indent + "]"
        )
    entries = [
        f"{pad}{json.dumps(key, ensure_ascii=False)}: "
        + (_render_list_of_lines(item, indent + 2) if key in _ENTRY_PER_LINE else _render(item, indent + 2))
        for key, item in value.items()
    ]
    return "{\n" + ",\n".join(entries) + "\n" + " " * indent + "}"


def _render_list_of_lines(value: Any, indent: int) -> str:
    """Events and header pairs: each entry on its own line, however long, so diffs go entry by entry."""
    if not isinstance(value, list):
        return _render(value, indent)
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= _WIDTH:
        return flat
    pad = " " * (indent + 2)
    lines = ",\n".join(pad + _render(item, indent + 2, one_line=True) for item in value)
    return "[\n" + lines + "\n" + " " * indent + "]"


def dumps_pretty(document: dict[str, Any]) -> str:
    """The file text: indented JSON, short containers and each SSE event on one line, final newline."""
    return _render(document, 0) + "\n"
