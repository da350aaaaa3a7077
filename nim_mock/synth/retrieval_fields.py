"""Reading the fields embedding and ranking requests share, with the refusal a NIM gives for each.

Both endpoints name a model from a fixed table, pick options from short lists (``truncate``,
``encoding_format``, ``input_type``), cut texts at the model's token limit, and answer with one
compact JSON body marked as synthesized; the rules for those live here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, overload

from nim_mock.cassette import RecordedResponse, compact_json
from nim_mock.cassettes.canonical import a_json_type
from nim_mock.synth.tokens import tokens
from nim_mock.synth.wire import SYNTH_HEADER
from nim_mock.wire.errors import Problem, bad_request
from nim_mock.wire.http import JSON_CONTENT_TYPE

__all__ = ["choice", "known_model", "synthesized_json", "too_long", "truncated"]

_M = TypeVar("_M")


def known_model(body: Mapping[str, Any], table: Mapping[str, _M], kind: str) -> _M | Problem:
    """The table entry ``body["model"]`` names: a 400 when it is missing or not a string, a 404
    (vLLM's and NIM's wording) when the stand-in does not know it."""
    if "model" not in body:
        return bad_request(f"Field required: 'model' (the {kind} model to use, e.g. {next(iter(table))!r}).")
    model = body["model"]
    if not isinstance(model, str):
        return bad_request(f"'model' must be a string, got {a_json_type(model)}.")
    entry = table.get(model)
    if entry is None:
        known = ", ".join(table)
        return Problem(
            404,
            "NotFoundError",
            f"The model `{model}` does not exist. This stand-in serves {kind} models: {known}.",
        )
    return entry


@overload
def choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str | Problem: ...


@overload
def choice(
    body: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: None
) -> str | Problem | None: ...


def choice(
    body: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str | None
) -> str | Problem | None:
    """``body[key]`` when it is one of ``allowed`` (``default`` when absent or null), else the 400
    listing them."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, str) and value in allowed:
        return value
    options = ", ".join(repr(option) for option in allowed)
    shown = repr(value) if isinstance(value, str) else a_json_type(value)
    return bad_request(f"'{key}' must be one of {options}, got {shown}.")


def too_long(length: int, limit: int) -> Problem:
    """The 400 a NIM gives for an input over the model's limit with ``truncate: NONE``."""
    return bad_request(
        f"Input length {length} exceeds maximum allowed token size {limit}. "
        "Send a shorter input, or set 'truncate' to 'END' (or 'START') to cut it."
    )


def truncated(text: str, limit: int, side: str) -> tuple[str, int]:
    """``text`` cut to at most ``limit`` tokens from ``side`` ("END" keeps the start, "START" the end),
    and its token count after the cut."""
    parts = tokens(text)
    if len(parts) <= limit:
        return text, len(parts)
    kept = parts[:limit] if side == "END" else parts[len(parts) - limit :]
    return "".join(kept), limit


def synthesized_json(body: Any) -> RecordedResponse:
    return RecordedResponse(
        200, ((SYNTH_HEADER, "1"), ("content-type", JSON_CONTENT_TYPE)), compact_json(body)
    )
