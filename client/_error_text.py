"""Reading what a server said: error messages out of every body layout, and header values.

Kept apart from the exception classes in ``_errors`` because it changes for a different reason:
a new server or gateway with a new error layout touches only this module. Everything here is a
pure function of bytes, strings and mappings, and nothing here raises on any input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .sse import iter_events

__all__ = [
    "header",
    "message_from_body",
    "parse_body",
    "parse_retry_after_seconds",
    "status_from_code",
    "www_authenticate_reason",
]

# Bodies can be whole HTML pages from a proxy; the first part is enough to recognise them.
_MAX_MESSAGE_CHARS = 500


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works on ``httpx.Headers`` and on plain dicts."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


def parse_retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` or a numeric ``Retry-After``, in seconds; ``None`` when absent or unusable.

    HTTP-date values need a clock, so the retry policy (``_retry``) resolves those itself.
    """
    milliseconds = header(headers, "retry-after-ms")
    if milliseconds is not None:
        value = _finite_non_negative(milliseconds)
        if value is not None:
            return value / 1000.0
    seconds = header(headers, "retry-after")
    return _finite_non_negative(seconds) if seconds is not None else None


def _finite_non_negative(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        return None
    return value


def parse_body(body: bytes) -> object | None:
    if not body or not body.strip():
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        parsed: object = json.loads(text)
    except (ValueError, RecursionError):
        return _first_sse_json(body) or text.strip()
    return parsed


def _first_sse_json(body: bytes) -> object | None:
    """NIM 1.x answers some stream failures with an error status AND an SSE body; read its event."""
    if not body.lstrip().startswith((b"data:", b"event:", b":")):
        return None
    for event in iter_events((body,)):
        try:
            parsed: object = json.loads(event.data)
        except (ValueError, RecursionError):
            continue
        return parsed
    return None


def message_from_body(parsed: object) -> str:
    if isinstance(parsed, str):
        return _clip(parsed)
    if not isinstance(parsed, Mapping):
        return _clip(json.dumps(parsed, ensure_ascii=False))
    error = parsed.get("error")
    if isinstance(error, Mapping):
        return _with_type(error.get("message"), error.get("type"))
    if parsed.get("object") == "error":
        return _with_type(parsed.get("message"), parsed.get("type"))
    if "title" in parsed or ("status" in parsed and "detail" in parsed):
        title, detail = parsed.get("title"), parsed.get("detail")
        pieces = [_text(title), _detail_text(detail)]
        return _clip(": ".join(piece for piece in pieces if piece))
    if "detail" in parsed:
        return _clip(_detail_text(parsed["detail"]))
    if isinstance(error, str) and error:
        message = parsed.get("message")
        return _clip(f"{error}: {message}" if isinstance(message, str) and message else error)
    message = parsed.get("message")
    if isinstance(message, str) and message:
        return _clip(message)
    return _clip(json.dumps(parsed, ensure_ascii=False))


def _with_type(message: object, kind: object) -> str:
    """The server's message; its ``type`` only when there is no message (the type stays in ``body``)."""
    return _clip(_text(message) or _text(kind))


def _detail_text(detail: object) -> str:
    """FastAPI's ``detail``: a string, or a list of pydantic errors ``{"loc","msg","type"}``."""
    if isinstance(detail, list):
        items = []
        for item in detail:
            if isinstance(item, Mapping):
                location = ".".join(str(part) for part in item.get("loc", ()) or ())
                text = _text(item.get("msg")) or _text(item.get("type"))
                items.append(f"{location}: {text}" if location else text)
            else:
                items.append(_text(item))
        return "; ".join(item for item in items if item)
    return _text(detail)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)


def _clip(text: str) -> str:
    text = text.strip()
    if len(text) > _MAX_MESSAGE_CHARS:
        return text[: _MAX_MESSAGE_CHARS - 1] + "…"
    return text


def www_authenticate_reason(value: str | None) -> str:
    """``Bearer error="invalid_token", error_description="Bearer token is malformed"`` -> the reason."""
    if not value:
        return ""
    params: dict[str, str] = {}
    for piece in value.split(","):
        name, equals, raw = piece.strip().partition("=")
        if equals:
            params[name.split()[-1].lower()] = raw.strip().strip('"')
    description = params.get("error_description")
    error = params.get("error")
    if description and error:
        return f"{error}: {description}"
    return description or error or value.strip()


def status_from_code(code: object) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int) and 100 <= code < 600:
        return code
    if isinstance(code, str) and code.isdigit() and 100 <= int(code) < 600:
        return int(code)
    return None
