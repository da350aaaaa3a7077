"""Reading what a client sent, for the matcher, and checking it as a NIM would, for a miss.

Two readings of one body. :func:`matchable_body` is what the matcher compares: JSON parsed exactly
as the recorder parsed it when it stored the request, else the raw bytes, so a recording of a real
server's answer to a bad request (a 422 for broken JSON, a 500 for a missing field) replays. Only
when no recording answers does :func:`check_json` refuse what a real NIM refuses before inference,
in its order: content type, UTF-8, JSON syntax, then what the mock cannot carry further (nesting
deeper than :data:`MAX_JSON_DEPTH`, a number too long to read, a lone surrogate UTF-8 cannot
encode), then the body's shape.

Each check is a pure function returning a :class:`~nim_mock.wire.errors.Problem` (or ``None``);
only :func:`read_body` touches the ASGI stream, and it never holds more than ``limit`` bytes, so a
10 MB body cannot exhaust the mock.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any, Final

from starlette.types import Receive

from nim_mock.cassettes.canonical import MAX_JSON_DEPTH, a_json_type, json_depth, lone_surrogate_at
from nim_mock.synth.pydantic_errors import FieldError, validation_problem
from nim_mock.wire.errors import ErrorLayout, Problem, bad_request
from nim_mock.wire.http import JSON_CONTENT_TYPE, media_type

__all__ = [
    "BodyTooLarge",
    "check_assistant_turns",
    "check_chat_shape",
    "check_content_length",
    "check_content_type",
    "check_json",
    "check_object",
    "matchable_body",
    "parse_json",
    "read_body",
    "too_large",
    "vllm_json",
]

_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
"""A ``\\uD800``-``\\uDFFF`` escape: the only way a lone surrogate gets into UTF-8 JSON text."""


class BodyTooLarge(Exception):
    """Raised by :func:`read_body` as soon as the stream passes the limit (nothing more is read)."""


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase,
        f"Request body is larger than the mock's limit of {limit} bytes. Send a smaller body, "
        "or start the mock with a larger max_body_bytes.",
    )


def check_content_length(declared: str | None, limit: int) -> Problem | None:
    """Refuse up front when the declared length (``content-length``) is over the limit, so the body
    is never read."""
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
    """NIM 1.x answers 415 unless the header is exactly ``application/json``; vLLM answers a 400.

    NIM 1.x's ``verify_headers`` compares the whole header, so ``application/json; charset=utf-8``
    is refused too (nim-wire-facts.md §1.2); a missing header is reported as the empty string, as it
    does. vLLM compares the media type without its parameters, and words the refusal as one of
    its validation errors.
    """
    if layout == "nim":
        if (content_type or "").strip().lower() == JSON_CONTENT_TYPE:
            return None
    elif media_type(content_type) == JSON_CONTENT_TYPE:
        return None
    if layout != "nim":
        return Problem(
            400,
            "Bad Request",
            "1 validation error:\n  Unsupported Media Type: Only 'application/json' is allowed",
        )
    return Problem(
        415, "BadRequestError", f"Unsupported media type: {content_type or ''}. It must be application/json"
    )


def matchable_body(raw: bytes) -> tuple[Any, bytes | None]:
    """``(json, None)`` when ``json.loads`` reads ``raw``, else ``(None, raw)``; ``(None, None)`` if empty.

    The very reading the recorder applies before it stores a request (``nim_mock.record.proxy``),
    so a body the recorder kept as JSON is compared as JSON and one it kept as text by its bytes.
    """
    if not raw:
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):  # syntax, encoding, a number too long to read; too deep
        return None, raw


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
    except RecursionError:
        return None, _too_deep(None)
    except ValueError as exc:  # an integer literal longer than Python reads (sys.get_int_max_str_digits)
        return None, bad_request(f"Request body holds a number the mock cannot read: {exc}.")


def _too_deep(depth: int | None) -> Problem:
    nests = "too deeply to read" if depth is None else f"{depth} levels deep"
    return bad_request(
        f"Request body nests {nests}; the mock reads JSON nested at most {MAX_JSON_DEPTH} levels. "
        "Flatten the body."
    )


def check_json(body: bytes) -> tuple[Any, Problem | None]:
    """The JSON of a body the mock answers itself, or the 400 for the first thing it cannot take:
    bad UTF-8 or syntax, nesting past :data:`MAX_JSON_DEPTH`, a lone surrogate."""
    value, problem = parse_json(body)
    if problem is not None:
        return None, problem
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        return None, _too_deep(depth)
    if _SURROGATE_ESCAPE.search(body) is not None:
        where = lone_surrogate_at(value)
        if where is not None:
            return None, bad_request(
                f"Request body holds a lone surrogate at {where or 'the top level'} (a \\uD800-\\uDFFF "
                "escape without its pair), which UTF-8 cannot carry. Send the whole pair, or the "
                "character itself."
            )
    return value, None


def vllm_json(raw: bytes) -> tuple[Any, Problem | None]:
    """The JSON of a body as vLLM 0.32 reads it, or its refusal in vLLM's words: pydantic's
    ``json_invalid`` at the character where parsing stopped, ``missing`` for no body at all, and
    ``model_attributes_type`` for JSON that is not an object. Past what the mock reads (deep nesting,
    lone surrogates, bad UTF-8) the mock's own 400 says why."""
    if not raw.strip():
        return None, validation_problem([FieldError("missing", ("body",), "Field required", None)])
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except json.JSONDecodeError as exc:
        error = FieldError("json_invalid", ("body", exc.pos), "JSON decode error", {}, {"error": exc.msg})
        return None, validation_problem([error])
    except (UnicodeDecodeError, RecursionError, ValueError):
        pass
    value, problem = check_json(raw)
    if problem is not None:
        return None, problem
    if not isinstance(value, dict):
        message = "Input should be a valid dictionary or object to extract fields from"
        return None, validation_problem([FieldError("model_attributes_type", ("body",), message, value)])
    return value, None


def check_assistant_turns(body: dict[str, Any]) -> Problem | None:
    """The hosted gateway's rule: an assistant turn with tool calls may have ``content`` null, never
    ``""`` (what a client forwarding an empty AIMessage sends); its 400 comes from the model side,
    worded as the bundled ``errors/gateway_empty_assistant_content`` recording shows."""
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if (
            isinstance(message, dict)
            and message.get("role") == "assistant"
            and message.get("content") == ""
            and message.get("tool_calls")
        ):
            return Problem(
                400,
                "BadRequestError",
                "request: Value error, Empty content is not allowed for assistant messages",
            )
    return None


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
