"""Assertions shared by the contract tests: each checks a promise of the API, not model wording."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk

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
        pytest.fail(f"the cassette's answer should show that the server {what}")
    pytest.skip(f"the live server does not honour this: it {what}")
