"""Reading and checking what a client sent, before any cassette is consulted.

A real NIM rejects a bad request before it reaches the model, so the mock does the same, in the
same order: size, content type, JSON syntax, shape. Each check is a pure function returning a
:class:`~nim_mock.wire.errors.Problem` (or ``None``); only :func:`read_body` touches the ASGI
stream, and it never holds more than ``limit`` bytes, so a 10 MB body cannot exhaust the mock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.types import Receive

from nim_mock.cassettes.canonical import a_json_type
from nim_mock.wire.errors import ErrorLayout, Problem, bad_request
from nim_mock.wire.http import JSON_CONTENT_TYPE, media_type

__all__ = [
    "BodyTooLarge",
    "check_chat_shape",
    "check_content_length",
    "check_content_type",
    "check_object",
    "parse_json",
    "read_body",
    "too_large",
]


class BodyTooLarge(Exception):
    """Raised by :func:`read_body` as soon as the stream passes the limit (nothing more is read)."""


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase,
        f"Request body is larger than the mock's limit of {limit} bytes. Send a smaller body, "
        "or start the mock with a larger max_body_bytes.",
    )


def check_content_length(headers: Mapping[str, str], limit: int) -> Problem | None:
    """Refuse up front when the declared length is over the limit, so the body is never read."""
    declared = headers.get("content-length")
    if declared is None:
        return None
    try:
        length = int(declared)
    except ValueError:
        return bad_request(f"Content-Length {declared!r} is not a number of bytes.")
    return too_large(limit) if length > limit else None


async def read_body(receive: Receive, limit: int) -> bytes:
    """Read the body from ASGI ``receive``, raising :class:`BodyTooLarge` the moment it passes ``limit``.

    Reads the ASGI messages directly (one message is the common case, so that path allocates
    nothing extra). A client that disconnects mid-body ends the body early; its answer goes nowhere.
    """
    message = await receive()
    if message["type"] != "http.request":
        return b""
    body: bytes = message.get("body", b"")
    if len(body) > limit:
        raise BodyTooLarge
    if not message.get("more_body", False):
        return body
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def check_content_type(content_type: str | None, layout: ErrorLayout) -> Problem | None:
    """NIM 1.x answers 415 unless the body is declared JSON; vLLM answers a plain 400.

    The media type is compared without its parameters (``application/json; charset=utf-8`` is
    fine); a missing header is reported as the empty string, as NIM's ``verify_headers`` does.
    """
    if media_type(content_type) == JSON_CONTENT_TYPE:
        return None
    if layout == "vllm":
        return Problem(400, "Bad Request", "Unsupported Media Type: Only 'application/json' is allowed")
    return Problem(
        415, "BadRequestError", f"Unsupported media type: {content_type or ''}. It must be application/json"
    )


def parse_json(body: bytes) -> tuple[Any, Problem | None]:
    """Parse a JSON body; a syntax error names the line and column so the sender can find it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, bad_request(f"Request body is not valid UTF-8 (byte {exc.start}); send UTF-8 JSON.")
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, bad_request(
            f"Request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(char {exc.pos})."
        )


def check_object(body: Any) -> Problem | None:
    if isinstance(body, dict):
        return None
    return bad_request(f"Request body must be a JSON object, got {a_json_type(body)}.")


def check_chat_shape(body: dict[str, Any]) -> Problem | None:
    """A chat request needs a non-empty ``messages`` list; NIM rejects the rest before inference."""
    if "messages" not in body:
        return bad_request("Field required: 'messages' (a non-empty list of chat messages).")
    messages = body["messages"]
    if not isinstance(messages, list):
        return bad_request(f"'messages' must be a list of chat messages, got {a_json_type(messages)}.")
    if not messages:
        return bad_request("'messages' must contain at least one message.")
    return None
