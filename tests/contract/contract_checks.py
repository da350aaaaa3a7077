"""Assertions shared by the contract tests: each checks a promise of the API, not model wording."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk
from nim_harness import BadRequestError, ChatNVIDIA, NVIDIAError

T = TypeVar("T")

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "description": "Get the current local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


def combine(chunks: list[BaseMessageChunk]) -> BaseMessageChunk:
    """The one message a stream's chunks add up to (LangChain merges chunks with ``+``)."""
    assert chunks, "the stream yielded nothing"
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def assert_usage(message: BaseMessage) -> None:
    """Token usage is reported, positive, and adds up."""
    assert isinstance(message, AIMessage)
    usage = message.usage_metadata
    assert usage is not None, "the answer carries no token usage"
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def assert_text_answer(message: BaseMessage, finish: str | tuple[str, ...] = "stop") -> None:
    """A plain assistant answer: non-empty text, no tool calls, an expected finish reason."""
    assert isinstance(message, AIMessage)
    assert isinstance(message.content, str)
    assert message.content.strip()
    assert message.tool_calls == []
    allowed = (finish,) if isinstance(finish, str) else finish
    assert message.response_metadata.get("finish_reason") in allowed


def assert_tool_calls(message: BaseMessage, *names: str) -> None:
    """The answer calls exactly the named tools, each with an id and a dict of arguments."""
    assert isinstance(message, AIMessage)
    assert [call["name"] for call in message.tool_calls] == list(names)
    assert message.invalid_tool_calls == []
    ids = [call["id"] for call in message.tool_calls]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(set(ids)) == len(ids)
    for call in message.tool_calls:
        assert isinstance(call["args"], dict)
        assert isinstance(call["args"].get("city"), str)
        assert call["args"]["city"]


def assert_json_object(text: Any, *keys: str) -> dict[str, Any]:
    """``text`` is a JSON object holding at least ``keys``."""
    assert isinstance(text, str)
    value = json.loads(text)
    assert isinstance(value, dict)
    assert set(keys) <= set(value)
    return value


def require(honoured: bool, nim_harness_mode: str, what: str) -> None:
    """A request option the answer shows the server honoured.

    In mock mode the cassette recorded a server that honours it, so a miss here is a client bug and
    fails. Against a real server (live, record) it skips, naming what that server does instead:
    the suite then tells "this server lacks X" apart from "the client broke X", and record mode
    never overwrites a cassette with an answer that lacks the feature.
    """
    if honoured:
        return
    if nim_harness_mode == "mock":
        pytest.fail(f"the cassette recorded a server that honours this, yet the client saw that it {what}")
    pytest.skip(f"the live server does not honour this: it {what}")


def honoured(call: Callable[[], T], nim_harness_mode: str, asked: str) -> T:
    """``call()``'s result, where a real server that refuses or ignores ``asked`` skips the test.

    A refusal (HTTP 400) or an answer the output parser cannot read is what a server without the
    feature gives (a text model sent an image, a model without a reasoning parser, an engine that
    dropped ``guided_json``); the skip quotes the server, so the reason says which. In mock mode
    the cassette recorded a server that honours it, and the same outcome fails (see ``require``).
    """
    try:
        return call()
    except OutputParserException as error:
        require(False, nim_harness_mode, f"ignores {asked}: it answered {str(error.llm_output)[:60]!r}")
    except BadRequestError as error:
        require(False, nim_harness_mode, f"refuses {asked}: {error.message[:160]}")
    raise AssertionError("unreachable: require() fails or skips")


def error_object(error: NVIDIAError) -> Mapping[str, Any] | None:
    """The OpenAI-style error object in the body: nested under ``error`` (vLLM >= 0.10, NIM 2.x) or
    flat with ``"object": "error"`` (NIM 1.x), or ``None`` for any other body (FastAPI's ``detail``)."""
    body = error.body
    if not isinstance(body, dict):
        return None
    fields = body.get("error") if "error" in body else body if body.get("object") == "error" else None
    return fields if isinstance(fields, dict) else None


def refusal(
    call: Callable[[], object], nim_harness_mode: str, asked: str, expected: type[NVIDIAError], status: int
) -> NVIDIAError:
    """The ``expected`` error ``call()`` raises for a request a server must refuse with ``status``.

    The refusal is held to the contract OpenAI-compatible servers keep: the status, and an error
    object that names its ``type`` and carries a ``param`` key (``null`` where no single field is to
    blame), wording aside. A real server that answers instead, refuses with another status, or in
    another layout does not check ``asked`` the way NIM's engine does: it skips, saying what it did
    (see ``require``).
    """
    try:
        call()
    except NVIDIAError as error:
        caught = error
    else:
        require(False, nim_harness_mode, f"accepts {asked}: it answered where HTTP {status} was due")
    require(
        caught.status == status,
        nim_harness_mode,
        f"refuses {asked} with HTTP {caught.status} ({type(caught).__name__}), not {status}",
    )
    assert isinstance(caught, expected)
    fields = error_object(caught)
    require(
        fields is not None,
        nim_harness_mode,
        f"refuses {asked} without an OpenAI error object: {str(caught.body)[:100]}",
    )
    assert fields is not None
    assert isinstance(fields.get("message"), str)
    assert fields["message"]
    assert isinstance(fields.get("type"), str)
    assert fields["type"]
    assert "param" in fields
    assert fields["param"] is None or isinstance(fields["param"], str)
    assert fields.get("code", status) == status
    return caught


def served_context(llm: ChatNVIDIA, model: str) -> int | None:
    """``model``'s context length (``max_model_len``) as the server's listing states it, if it does."""
    served = {entry.id: entry for entry in llm.get_available_models()}
    return served[model].max_model_len if model in served else None
